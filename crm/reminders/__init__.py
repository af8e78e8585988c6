"""Reminders: the sweeps that notify people of what needs them, tasks, and delivery of the
notifications beyond the app (a morning e-mail digest, the team's work chat)."""
