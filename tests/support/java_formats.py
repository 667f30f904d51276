"""Kafka's two configuration formats, read as Kafka reads them, to check what the scripts write.

``load_properties`` follows ``java.util.Properties.load`` (comments, separators, backslash
escapes, continued lines); ``jaas_options`` follows Kafka's ``JaasConfig``, which tokenises
with ``java.io.StreamTokenizer`` (quoted strings with backslash escapes).
"""

from __future__ import annotations

import re

_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        char = text[i]
        if char != "\\" or i + 1 == len(text):
            out.append(char)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "u":
            out.append(chr(int(text[i + 2 : i + 6], 16)))
            i += 6
            continue
        out.append(_ESCAPES.get(nxt, nxt))
        i += 2
    return "".join(out)


def _logical_lines(text: str) -> list[str]:
    lines, current = [], ""
    for raw in text.splitlines():
        line = raw.lstrip(" \t\f") if current else raw
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2 == 1:  # an odd number of backslashes: the line goes on
            current += line[:-1]
            continue
        lines.append(current + line)
        current = ""
    if current:
        lines.append(current)
    return lines


def load_properties(text: str) -> dict[str, str]:
    props: dict[str, str] = {}
    for line in _logical_lines(text):
        stripped = line.lstrip(" \t\f")
        if not stripped or stripped[0] in "#!":
            continue
        key, i = [], 0
        while i < len(stripped):
            char = stripped[i]
            if char == "\\" and i + 1 < len(stripped):
                key.append(stripped[i : i + 2])
                i += 2
                continue
            if char in "=: \t\f":
                break
            key.append(char)
            i += 1
        rest = stripped[i:].lstrip(" \t\f")
        if rest[:1] in ("=", ":"):
            rest = rest[1:].lstrip(" \t\f")
        props[_unescape("".join(key))] = _unescape(rest)
    return props


_TOKEN = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([A-Za-z0-9_.$-]+)|(=|;))', re.S)


def jaas_options(config: str) -> tuple[str, str, dict[str, str]]:
    """(login module, control flag, options) of a one-module ``sasl.jaas.config`` value."""
    tokens = []
    for match in _TOKEN.finditer(config):
        quoted, word, mark = match.groups()
        tokens.append(_unescape(quoted) if quoted is not None else word or mark)
    module, flag, *rest = tokens
    assert rest[-1] == ";", config
    options = {}
    for i in range(0, len(rest) - 1, 3):
        name, equals, value = rest[i : i + 3]
        assert equals == "=", config
        options[name] = value
    return module, flag, options
