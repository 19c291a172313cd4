"""The one exception hierarchy of ingest-guard.

    GuardError                  root: catch this to catch everything the guard raises
    ├── ContractError           a contract file is missing, unreadable or inconsistent
    ├── ConfigError             guard.yaml or an environment override is invalid
    ├── InputError              a file or argument given on the command line is unusable
    └── TransportError          the broker could not be reached or refused an operation
        ├── TransientTransportError   worth retrying with backoff (timeouts, coordinator moves)
        │   └── RegistryUnavailableError  the Schema Registry did not answer an id look-up
        └── FatalTransportError       retrying cannot help (authorization, a rejected login)
            ├── RecordTooLargeError   the broker refused a record as too large
            └── RejoinRequiredError   fenced or a fatal client error: only new clients help

Invalid *records* are never exceptions: they are data (`guard.validation.Verdict`) and go to
quarantine with stable reason codes.
"""

from __future__ import annotations


class GuardError(Exception):
    """Root of every error ingest-guard raises on purpose."""


class ContractError(GuardError):
    """A contract file cannot be used; the message names the file, the field and the problem."""

    def __init__(self, path: object, problem: str, field: str | None = None) -> None:
        self.path = str(path)
        self.field = field
        self.problem = problem
        where = f"{self.path}: field '{field}'" if field else self.path
        super().__init__(f"{where}: {problem}")


class ConfigError(GuardError):
    """The service configuration is invalid."""


class InputError(GuardError):
    """A command-line input (file, subject, argument) cannot be used."""


class TransportError(GuardError):
    """The broker could not complete an operation."""


class TransientTransportError(TransportError):
    """A broker failure that may succeed when retried."""


class RegistryUnavailableError(TransientTransportError):
    """A Schema Registry look-up failed for a reason other than "no such id": the batch is
    retried like any transient failure, never quarantined for it."""


class FatalTransportError(TransportError):
    """A broker failure that retrying cannot fix."""


class RecordTooLargeError(FatalTransportError):
    """A target topic or the producer refused a record as too large; retrying the same
    record cannot help, but the service can route it differently (guard/routing/fit.py)."""

    def __init__(self, message: str, topic: str | None = None) -> None:
        super().__init__(message)
        self.topic = topic  # the refusing topic, when the client tells


class RejoinRequiredError(FatalTransportError):
    """This instance's clients are unusable: fenced (another member took its static group
    membership, a newer producer its transactional id) or hit by a fatal client error. The
    same clients can never recover, but new ones can: the service replaces them (rejoins)
    up to `retry.max_rejoins` times within `retry.rejoin_window_s`, then exits 3."""
