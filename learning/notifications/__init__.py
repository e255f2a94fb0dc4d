"""The members' notification centre (in-app messages, optionally also sent by email)."""
