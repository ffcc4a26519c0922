"""Support staff: the console, impersonation, and the customer's say over support access."""
