"""Reporting: Celery workers that build the evaluation reports, and a small API."""
