"""Accounts: users, passwords, sign-up/sign-in, server-side sessions, profile."""
