"""Memberships: who belongs to which organization, and the members page."""
