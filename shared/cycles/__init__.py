"""Cycles of the SOP and their working-time calendars (tables owned by the workflow service)."""
