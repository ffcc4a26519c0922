"""Access: the permission vocabulary, roles, and the one resolver of effective permissions."""
