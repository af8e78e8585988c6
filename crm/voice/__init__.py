"""The customer's voice: feedback with deadlines, satisfaction surveys by link, and care."""
