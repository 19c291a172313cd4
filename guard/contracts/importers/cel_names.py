"""Confluent's CEL rules name the record `message`; the guard's name it `record`. The rename is
token-aware: a string literal or a field called `message` is left alone."""

from __future__ import annotations

from guard.contracts.rule_refs import ROOT, tokens

CONFLUENT_ROOT = "message"


def rename_root(expr: str, old: str, new: str) -> str:
    out: list[str] = []
    last = 0
    toks = tokens(expr)
    for i, tok in enumerate(toks):
        if tok.kind == "ident" and tok.text == old and (i == 0 or toks[i - 1].text != "."):
            out.append(expr[last : tok.offset])
            out.append(new)
            last = tok.offset + len(tok.text)
    out.append(expr[last:])
    return "".join(out)


def from_confluent(expr: str) -> str:
    return rename_root(expr, CONFLUENT_ROOT, ROOT)


def to_confluent(expr: str) -> str:
    return rename_root(expr, ROOT, CONFLUENT_ROOT)
