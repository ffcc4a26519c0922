"""Support: the staff console's detail pages, and what support staff may do for a customer."""
