"""`guard` console script: a thin dispatcher; each subcommand lives in its own module and
imports what it needs only when it runs.

Exit codes: 0 ok; 1 data failed (a record was quarantined, drift, a contract break); 2 usage,
config, contract or input error (also: stdout closed by its reader before the output was
written, as by `| head`); 3 the broker (or the Schema Registry) failed and retrying did not
help; 4 an internal error (a bug: the traceback is printed) -- never 1, so a crash cannot pass
for a finding.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any

import click

from guard._version import __version__
from guard.errors import GuardError, RegistryUnavailableError, TransportError

EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_BROKER, EXIT_INTERNAL = 0, 1, 2, 3, 4


# Commands whose stderr is a log stream (JSON lines): their fatal error is one log line too.
_LOGGING_COMMANDS = frozenset({"run"})


class GuardGroup(click.Group):
    """Turns GuardErrors into a one-line message and a meaningful exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RegistryUnavailableError as exc:
            # The Schema Registry's failure, not the broker's: the line says which to look at
            # (as `guard run` logs its retries). Its messages name it already.
            message = str(exc)
            if not message.startswith("schema registry"):
                message = f"schema registry: {message}"
            _fatal(ctx, EXIT_BROKER, message)
        except TransportError as exc:
            _fatal(ctx, EXIT_BROKER, f"broker: {exc}")
        except GuardError as exc:
            _fatal(ctx, EXIT_USAGE, str(exc))
        except (click.exceptions.Exit, click.ClickException, click.Abort, KeyboardInterrupt):
            raise
        except BrokenPipeError:
            _output_closed()
        except Exception:
            _fatal(ctx, EXIT_INTERNAL, "internal error (a bug in ingest-guard; please report it)")


def _output_closed() -> None:
    """The reader of stdout went away (`guard quarantine show | head`): not a bug, and
    nothing more can be shown. Exit 2 without a traceback; stdout goes to /dev/null so the
    interpreter's last flush does not fail again."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(EXIT_USAGE)


def _fatal(ctx: click.Context, code: int, message: str) -> None:
    """One clear line, then exit: structured for the service, plain text for the tools."""
    internal = code == EXIT_INTERNAL
    if ctx.invoked_subcommand in _LOGGING_COMMANDS:
        import structlog

        structlog.get_logger("guard").critical(
            "fatal", exit_code=code, error=message, exc_info=internal
        )
    else:
        if internal:
            traceback.print_exc()
        click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.group(cls=GuardGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ingest-guard")
def cli() -> None:
    """ingest-guard: validate Kafka records against versioned contracts; quarantine the rest."""
    from guard.logs import configure_logging

    # Logs go to stderr so stdout stays clean for reports and --json; `run` reconfigures
    # from its settings.
    configure_logging("WARNING", "json")


def _register() -> None:
    from guard.cli.baseline import baseline
    from guard.cli.config_check import config
    from guard.cli.demo import demo
    from guard.cli.drift import drift
    from guard.cli.quarantine import quarantine
    from guard.cli.replay import replay
    from guard.cli.run import run
    from guard.cli.schemas import schemas
    from guard.cli.shadow import shadow
    from guard.cli.validate import validate

    for command in (
        run,
        validate,
        schemas,
        shadow,
        quarantine,
        replay,
        drift,
        baseline,
        config,
        demo,
    ):
        cli.add_command(command)


_register()


def main() -> None:
    try:
        cli()
    finally:  # SystemExit included: click ends every command with it
        # Imported by `guard run` only (this module imports lazily): bound the interpreter's
        # exit, whose client destructors can block (guard/service/last_resort.py).
        last_resort = sys.modules.get("guard.service.last_resort")
        if last_resort is not None:
            last_resort.arm_exit()
