"""The contenders that are not the guard, each a standalone script run as a child process.

Every one takes the same arguments (see _common.py), stops after `--records` records (or
`--idle` seconds without any), and prints one JSON line on stdout: how many records it handled,
and when its first and last commit completed, so the harness can time the steady state
without start-up and group join.
"""
