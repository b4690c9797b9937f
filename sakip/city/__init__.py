"""A whole city, scripted: `sakip demo city` plans it, drives it through the HTTP APIs and checks
the outcome against the plan."""
