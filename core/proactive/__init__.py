"""未诉先办: places where one problem keeps coming back, found before the next call."""
