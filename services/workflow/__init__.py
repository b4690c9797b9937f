"""Workflow: the SOP state machine, working-time deadlines, the event consumer and scheduler."""
