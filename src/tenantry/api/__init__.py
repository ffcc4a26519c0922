"""The management JSON API under /api/v1, for the SaaS backend: keys, checks, provisioning."""
