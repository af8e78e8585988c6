"""Check-in (签到) at the customer on a visit: position, accuracy, distance, flags (issue 13)."""
