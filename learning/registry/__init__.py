"""The membership registry connector: connections, signed events that award points."""
