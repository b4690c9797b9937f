"""The `sakip` command line: runs the local stack, migrations, seeding and administration."""
