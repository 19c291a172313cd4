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
count; those stay in the guard's own headers, so replay works whatever the style. The envelope
writer (guard/quarantine/envelope.py, `envelope_headers`) owns the styles and calls this.
"""

from __future__ import annotations

from collections.abc import Sequence

from guard.transport.base import Headers
from guard.validation.reasons import FieldError

PREFIX = "__connect.errors."
H_TOPIC = PREFIX + "topic"
H_PARTITION = PREFIX + "partition"
H_OFFSET = PREFIX + "offset"
CONNECTOR = "ingest-guard"
STAGE = "VALUE_CONVERTER"
CLASS_NAME = "guard.validation.RecordValidator"
EXCEPTION_CLASS = "ingest_guard.InvalidRecord"
MAX_TRACE_LINES = 100


def connect_headers(
    source: tuple[str | None, int | None, int | None],
    subject: str,
    versions_tried: Sequence[int],
    errors: Sequence[FieldError],
    reasons: Sequence[str],
    task_id: str = "0",
) -> Headers:
    """Connect's headers for one quarantined record: `source` is (topic, partition, offset),
    None where unknown."""
    out: Headers = []
    for name, value in zip((H_TOPIC, H_PARTITION, H_OFFSET), source, strict=True):
        if value is not None:
            out.append((name, str(value).encode()))
    version = versions_tried[0] if versions_tried else None
    message = f"{subject}" + (f" v{version}" if version is not None else "")
    message += f": {', '.join(reasons)}"
    trace = "\n".join(
        f"{e.path or '(record)'}: {e.code.value}: {e.message}" for e in errors[:MAX_TRACE_LINES]
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
