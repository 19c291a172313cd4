"""`guard demo`: the self-contained demo."""

from __future__ import annotations

import click


@click.command()
def demo() -> None:
    """Start a local broker, stream good and bad records through the guard, show where each went."""
    from guard.demo.run import run_demo

    run_demo()
