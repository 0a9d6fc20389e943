"""Collectors: they receive what devices send, parse and normalize it into events, and
publish them on the bus. They never write to the store or call the Responder."""
