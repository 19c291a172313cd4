"""File-mode quarantine: the same envelope, one JSON object per line.

    {"key_b64": null, "value_b64": "<original bytes>", "headers": {"guard.envelope": "1", ...}}

`headers` holds exactly the `guard.*` headers a Kafka quarantine record would carry.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO

from guard.errors import InputError
from guard.quarantine.envelope import Envelope


def record_line(
    key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes | None]]
) -> str:
    """One JSON line: key and value base64-encoded exactly, headers as strings (null: null)."""
    return json.dumps(
        {
            "key_b64": _b64(key),
            "value_b64": _b64(value),
            "headers": {k: None if v is None else v.decode("utf-8", "replace") for k, v in headers},
        },
        separators=(",", ":"),
    )


def envelope_line(key: bytes | None, value: bytes | None, envelope: Envelope) -> str:
    return record_line(key, value, envelope.headers())


class QuarantineFileWriter:
    """Writes envelopes to `<dir>/<subject>-<UTC time>-<random>.jsonl`, created on first use.

    The name is unique per writer (microseconds plus a random part), so two runs in the
    same second never share a file.
    """

    def __init__(self, directory: Path, subject: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        self.path = directory / f"{subject}-{stamp}-{secrets.token_hex(4)}.jsonl"
        self._fh: IO[str] | None = None
        self.count = 0

    def write(self, key: bytes | None, value: bytes | None, envelope: Envelope) -> None:
        """InputError when the file cannot be created or written (a read-only or missing
        directory, a file where the directory should be, a full disk)."""
        try:
            if self._fh is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fh = self.path.open("a", encoding="utf-8")
            self._fh.write(envelope_line(key, value, envelope) + "\n")
        except OSError as exc:
            raise InputError(
                f"{self.path.parent}: cannot write the quarantine file: {exc.strerror or exc}"
            ) from exc
        self.count += 1

    def close(self) -> None:
        if self._fh is not None:
            fh, self._fh = self._fh, None
            try:
                fh.close()  # flushes: a full disk shows here
            except OSError as exc:
                raise InputError(
                    f"{self.path}: cannot write the quarantine file: {exc.strerror or exc}"
                ) from exc

    def __enter__(self) -> QuarantineFileWriter:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")
