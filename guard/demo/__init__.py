"""A self-contained demo: local broker, sample stream, guard run, report."""
