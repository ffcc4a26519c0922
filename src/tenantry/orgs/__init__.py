"""Organizations: creation, slugs, branding, settings, the switcher."""
