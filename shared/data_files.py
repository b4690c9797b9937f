"""Errors of the platform's YAML data files (SOP templates, LKE rubrics) that name their line:
the line of every field path in a YAML document, and marshmallow's nested messages as paths."""

from __future__ import annotations

from typing import Any

import yaml


def flatten_messages(messages: Any,
                     path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    """marshmallow's nested messages as (field path, message) pairs."""
    if isinstance(messages, dict):
        out = []
        for key, value in messages.items():
            sub = path if key == "_schema" else (*path, str(key))
            out.extend(flatten_messages(value, sub))
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [(path, "; ".join(messages))]
    return [(path, str(messages))]


def line_index(node: yaml.Node | None) -> dict[tuple[str, ...], int]:
    """The 1-based line of every field path in the YAML document."""
    index: dict[tuple[str, ...], int] = {}

    def walk(n: yaml.Node, path: tuple[str, ...]) -> None:
        index[path] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            for key, value in n.value:
                sub = (*path, str(key.value))
                index[sub] = key.start_mark.line + 1
                walk(value, sub)
                index[sub] = key.start_mark.line + 1
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                walk(item, (*path, str(i)))

    if node is not None:
        walk(node, ())
    return index


def line_of(lines: dict[tuple[str, ...], int], path: tuple[str, ...]) -> str:
    """"baris N" of the field, or of its nearest ancestor the document has."""
    for cut in range(len(path), -1, -1):
        if path[:cut] in lines:
            return f"baris {lines[path[:cut]]}"
    return "baris ?"
