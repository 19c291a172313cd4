"""Versioned contracts: the file format, loading, and compilation to validators."""

from guard.contracts.registry import Contract, Registry, Subject, load_contract, load_registry
from guard.contracts.spec import ContractSpec, FieldSpec

__all__ = [
    "Contract",
    "ContractSpec",
    "FieldSpec",
    "Registry",
    "Subject",
    "load_contract",
    "load_registry",
]
