"""The append-only audit log: one way to record an event inside the caller's transaction."""
