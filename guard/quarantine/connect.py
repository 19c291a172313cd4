"""The quarantine envelope under Kafka Connect's dead-letter header names.

Tools built for Connect's DLQ (`errors.deadletterqueue.context.headers.enable=true`) read
`__connect.errors.*`. The mapping, for `quarantine.header_style: connect | both`:

| Connect header                              | from the envelope                              |
|---------------------------------------------|------------------------------------------------|
| `__connect.errors.topic`/`.partition`/`.offset` | the source coordinates                      |
| `__connect.errors.connector.name`           | `ingest-guard`                                 |
| `__connect.errors.task.id`                  | the guard instance id                          |
| `__connect.errors.stage`                    | `VALUE_CONVERTER` (the record's value failed)  |
| `__connect.errors.class.name`               | `guard.validation.RecordValidator`             |
| `__connect.errors.exception.class.name`     | `ingest_guard.InvalidRecord`                   |
| `__connect.errors.exception.message`        | subject, version and the reason codes         |
| `__connect.errors.exception.stacktrace`     | one line per error: field, code, message       |

Connect has no names for the subject, versions tried, the error list as data, or the attempt
count; those stay in the guard's own headers, so replay works whatever the style.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from guard.transport.base import Headers

if TYPE_CHECKING:  # envelope.py imports this module
    from guard.quarantine.envelope import Envelope

PREFIX = "__connect.errors."
H_TOPIC = PREFIX + "topic"
H_PARTITION = PREFIX + "partition"
H_OFFSET = PREFIX + "offset"
CONNECTOR = "ingest-guard"
STAGE = "VALUE_CONVERTER"
CLASS_NAME = "guard.validation.RecordValidator"
EXCEPTION_CLASS = "ingest_guard.InvalidRecord"
MAX_TRACE_LINES = 100


def connect_headers(envelope: Envelope, task_id: str = "0") -> Headers:
    s = envelope.source
    out: Headers = []
    for name, value in ((H_TOPIC, s.topic), (H_PARTITION, s.partition), (H_OFFSET, s.offset)):
        if value is not None:
            out.append((name, str(value).encode()))
    version = envelope.versions_tried[0] if envelope.versions_tried else None
    message = f"{envelope.subject}" + (f" v{version}" if version is not None else "")
    message += f": {', '.join(envelope.reasons)}"
    trace = "\n".join(
        f"{e.path or '(record)'}: {e.code.value}: {e.message}"
        for e in envelope.errors[:MAX_TRACE_LINES]
    )
    out += [
        (PREFIX + "connector.name", CONNECTOR.encode()),
        (PREFIX + "task.id", task_id.encode()),
        (PREFIX + "stage", STAGE.encode()),
        (PREFIX + "class.name", CLASS_NAME.encode()),
        (PREFIX + "exception.class.name", EXCEPTION_CLASS.encode()),
        (PREFIX + "exception.message", message.encode()),
        (PREFIX + "exception.stacktrace", trace.encode()),
    ]
    return out


HeaderStyle = Literal["guard", "connect", "both"]

# Under `connect`, Connect's names carry the source coordinates instead of the guard's.
_SOURCE_NAMES = {"guard.source.topic", "guard.source.partition", "guard.source.offset"}


def envelope_headers(
    envelope: Envelope, style: HeaderStyle = "guard", task_id: str = "0"
) -> Headers:
    """The envelope as headers in the chosen style (guard's, Connect's, or both)."""
    own = envelope.headers()
    if style == "guard":
        return own
    if style == "connect":
        own = [(k, v) for k, v in own if k not in _SOURCE_NAMES]
    return own + connect_headers(envelope, task_id)
