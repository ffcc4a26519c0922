"""Custom metadata: key/value data on organizations and users, and the staff directory."""
