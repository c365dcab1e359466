"""Customers of a business: the people who book."""
