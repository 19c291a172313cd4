"""The `guard` command line."""
