"""Mail: every email a template triple, committed to an outbox with the change it announces,
delivered by a worker that retries and never sends a message twice."""
