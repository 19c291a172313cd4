"""Abort-then-recreate, the same for every client's transactional producer."""

from __future__ import annotations

from collections.abc import Callable

import structlog

from guard.errors import FatalTransportError, TransientTransportError

log = structlog.get_logger(__name__)


def abort_or_recreate(
    abort: Callable[[], None], close: Callable[[], None], create: Callable[[], None]
) -> None:
    """Abort the open transaction; when that fails, close the producer and make a new one at
    once: the new producer's init_transactions aborts the open transaction, which
    read_committed consumers (and the pipe's own rewind) wait on. When the new one cannot be
    made yet, the next `begin` tries again."""
    try:
        abort()
    except (TransientTransportError, FatalTransportError) as exc:
        log.warning("abort failed; recreating the producer", error=str(exc))
        close()
        try:
            create()
        except TransientTransportError as create_exc:
            log.warning("producer not recreated yet; next begin retries", error=str(create_exc))
