"""Small shared pieces with no domain knowledge."""
