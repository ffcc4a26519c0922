"""Portal plumbing shared by every capability: templates, error pages, guards, health, media."""
