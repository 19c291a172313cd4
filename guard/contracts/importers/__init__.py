"""Contracts from the schemas teams already have: JSON Schema, Avro, a Schema Registry subject.

What a contract cannot express is refused with the exact JSON path (a JSON Pointer into the
source document), never silently dropped."""
