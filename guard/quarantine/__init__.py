"""The quarantine envelope and the file-mode quarantine writer."""

from guard.quarantine.envelope import Envelope, Source, quarantine_headers, read_envelope

__all__ = ["Envelope", "Source", "quarantine_headers", "read_envelope"]
