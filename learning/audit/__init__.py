"""The audit log: who did what to whom, when, and from which address (append-only)."""
