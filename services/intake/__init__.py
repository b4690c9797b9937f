"""Intake: the staff portal (web forms in Bahasa Indonesia) and the documents REST API."""
