"""Tell a rejected TLS handshake from a transient one, for both transports.

Both clients report every TLS failure the same way (librdkafka: `_SSL`, or `_TRANSPORT` for an
alert read after the handshake; kafka-python: a connection error), whether the broker went
away mid-handshake (retry) or one side refused the other's certificate (retrying cannot help).
Only the second names a certificate verdict in OpenSSL's words, so that is what is matched:
a TLS error that names none is retried like any other broken connection.
"""

from __future__ import annotations

import re

from guard.transport import hints

# We refused the broker's certificate (unknown CA, expired, wrong host name).
_BROKER_NOT_TRUSTED = re.compile(r"certificate verify failed", re.IGNORECASE)

# The broker refused ours: the TLS alert it sent (OpenSSL spells them "sslv3 alert bad
# certificate", "SSLV3_ALERT_BAD_CERTIFICATE", "tlsv13 alert certificate required", ...).
_CLIENT_REJECTED = re.compile(
    r"alert[ _](bad[ _]certificate|certificate[ _]unknown|unknown[ _]ca|certificate[ _]required"
    r"|certificate[ _]expired|certificate[ _]revoked|unsupported[ _]certificate"
    r"|access[ _]denied|decrypt[ _]error)",
    re.IGNORECASE,
)


def tls_rejection(text: str) -> str | None:
    """The guard's message for a TLS error text that is a certificate verdict, or None when
    the text names none (a reset, a closed socket, a broker going down: transient)."""
    if _BROKER_NOT_TRUSTED.search(text):
        return (
            "TLS handshake failed: certificate verify failed (the broker's certificate is not "
            f"trusted): {text} -- {hints.CHECK_TLS_CA}"
        )
    if match := _CLIENT_REJECTED.search(text):
        verdict = match.group(0).replace("_", " ").lower()
        return (
            f"TLS handshake failed: the broker rejected the client certificate ({verdict}): "
            f"{text} -- {hints.CHECK_TLS_CERT}"
        )
    return None
