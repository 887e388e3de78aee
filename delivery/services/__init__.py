"""Writes and workflows, split by topic: booking, reschedule, districts, waitlist."""
