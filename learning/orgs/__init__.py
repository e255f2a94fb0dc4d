"""The organisation tree, members, and the scoping rule every feature uses."""
