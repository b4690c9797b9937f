"""Performance documents: each Bidang's package for a cycle, its items and their versions
(tables owned by the intake service)."""
