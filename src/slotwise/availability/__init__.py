"""Availability: the pure rules that decide which appointment starts can be booked."""
