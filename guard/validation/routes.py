"""The validator of one configured route: its subject, accepted versions, limits and, for
framed payloads, its wire format. The service and replay build validators only here, so a
replayed record is judged exactly as the live guard judged it."""

from __future__ import annotations

from guard.config.settings import GuardSettings, Route
from guard.contracts.registry import Registry, Subject
from guard.contracts.subject_config import load_subject_config
from guard.validation.decode import Limits
from guard.validation.schema_ids import RegistryLookup, SchemaIds
from guard.validation.validator import AcceptedVersions, RecordValidator
from guard.validation.wire import WireFormat


def route_validator(
    settings: GuardSettings,
    registry: Registry,
    source: str,
    route: Route,
    accepted: AcceptedVersions | None = None,
) -> RecordValidator:
    """Raises ContractError/ConfigError on an unknown subject or unusable versions."""
    subject = registry.subject(route.subject)
    limits = Limits(settings.limits.max_bytes, settings.limits.max_depth)
    return RecordValidator(
        subject,
        route.accepted_versions if accepted is None else accepted,
        limits,
        settings.expose_values,
        wire_format(settings, subject, source, route),
    )


def wire_format(
    settings: GuardSettings, subject: Subject, source: str, route: Route
) -> WireFormat | None:
    if route.payload_format == "json":
        return None
    pinned = load_subject_config(settings.schemas_dir, subject.name).version_by_id()
    reg = settings.schema_registry
    lookup = None
    if reg.url:
        lookup = RegistryLookup(
            reg.url,
            route.registry_subject or f"{source}-value",
            reg.timeout_ms / 1000,
            reg.username,
            reg.password.get_secret_value() if reg.password else None,
        )
    return WireFormat(subject, route.payload_format, SchemaIds(subject, pinned, lookup))
