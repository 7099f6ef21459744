"""Routing that learns: where first dispatches go wrong, and the overrides supervisors accept."""
