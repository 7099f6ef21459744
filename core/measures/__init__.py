"""Measures (issue 13): facts derived from the audit trail, and the measures computed over them."""
