"""Booking: public bookings, manage links and the staff appointment book (SPEC §3, §5)."""
