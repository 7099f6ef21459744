"""Major-event pages: the centre's list, the event board (phone-width), intake of an event."""
