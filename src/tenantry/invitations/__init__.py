"""Invitations: an email with a join link that carries roles and groups."""
