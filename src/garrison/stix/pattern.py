"""The STIX 2.0 patterns Garrison imports, parsed and written back. Pure: text in, text out.

STIX patterning is a whole language (observations joined by AND, OR and FOLLOWEDBY,
qualifiers, many operators, nested object paths). The SMS imports only its simplest form,
one comparison with ``=`` on the value of a domain name, an IPv4 or IPv6 address, or a URL
(facts sheet §1.2)::

    [ipv4-addr:value = '198.51.100.7']
    [domain-name:value = 'evil.example']
    [url:value = 'http://evil.example/a?b=\\'c\\'']

Anything else is refused with a `PatternError` whose message says what was not supported,
so that the TAXII status resource can tell a feed's author why an indicator was skipped.
String literals take the STIX escapes ``\\'`` and ``\\\\`` only, as the STIX grammar does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from garrison.reputation.model import EntryKind

# STIX object type -> the reputation entry kind its value becomes.
ENTRY_KINDS: dict[str, EntryKind] = {
    "domain-name": EntryKind.DNS,
    "ipv4-addr": EntryKind.IPV4,
    "ipv6-addr": EntryKind.IPV6,
    "url": EntryKind.URL,
}
PROPERTY = "value"

# Words of the STIX grammar that this subset refuses, each with what to say about it.
_OPERATOR_WORDS = frozenset({"LIKE", "MATCHES", "IN", "ISSUBSET", "ISSUPERSET"})
_JOINS = frozenset({"AND", "OR", "FOLLOWEDBY"})
_QUALIFIERS = frozenset({"WITHIN", "REPEATS", "START", "STOP"})

_TOKEN = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<string>'(?:[^'\\]|\\['\\])*')
    | (?P<op>!=|<=|>=|=|<|>)
    | (?P<punct>[\[\](),])
    | (?P<word>[^\s'\[\](),=!<>]+)
    """,
    re.VERBOSE,
)
_ESCAPED = re.compile(r"\\(['\\])")
_SHOWN = 40  # characters of a token a message quotes


class PatternError(ValueError):
    """A pattern outside the supported subset, or not a pattern at all; the message says
    which and is meant for the feed's author."""


@dataclass(frozen=True, slots=True)
class Comparison:
    """``[<object_type>:value = '<value>']``."""

    object_type: str  # one of ENTRY_KINDS, lower case
    value: str

    @property
    def kind(self) -> EntryKind:
        return ENTRY_KINDS[self.object_type]


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "string", "op", "punct" or "word"
    text: str

    @property
    def word(self) -> str:
        return self.text.upper() if self.kind == "word" else ""


def _shown(text: str) -> str:
    return repr(text if len(text) <= _SHOWN else text[:_SHOWN] + "...")


def _tokens(text: str) -> Iterator[_Token]:
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            if text[position] == "'":
                raise PatternError(
                    f"string at character {position + 1} has no closing quote, or a backslash "
                    "before something other than ' or \\"
                )
            raise PatternError(f"unexpected {text[position]!r} at character {position + 1}")
        position = match.end()
        kind = match.lastgroup
        assert kind is not None
        if kind != "space":
            yield _Token(kind, match.group())


def unescape(literal: str) -> str:
    """The text of a STIX string literal's inside (without its quotes)."""
    return _ESCAPED.sub(r"\1", literal)


def escape(value: str) -> str:
    """``value`` as the inside of a STIX string literal."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


def format_pattern(comparison: Comparison) -> str:
    """The canonical text of ``comparison``: ``[ipv4-addr:value = '10.0.0.1']``."""
    return f"[{comparison.object_type}:{PROPERTY} = '{escape(comparison.value)}']"


def parse_pattern(text: str) -> Comparison:
    """The one comparison of a supported pattern; `PatternError` for anything else."""
    tokens = _tokens(text)
    first = next(tokens, None)
    if first is None:
        raise PatternError("the pattern is empty")
    if first.text == "(":
        raise PatternError(
            "grouped observations are not supported; give one comparison such as "
            "[ipv4-addr:value = '198.51.100.7']"
        )
    if first.text != "[":
        raise PatternError(
            f"a pattern starts with '[', not {_shown(first.text)}: "
            "[ipv4-addr:value = '198.51.100.7']"
        )
    object_type = _object_type(next(tokens, None))
    path = f"{object_type}:{PROPERTY}"
    _equals(next(tokens, None), path)
    literal = next(tokens, None)
    if literal is None:
        raise PatternError(f"{path} = needs a quoted value")
    if literal.kind != "string":
        raise PatternError(f"the value must be a quoted string ('...'), not {_shown(literal.text)}")
    _end(tokens)
    return Comparison(object_type=object_type, value=unescape(literal.text[1:-1]))


def _object_type(token: _Token | None) -> str:
    if token is None or token.kind != "word":
        shown = "the end" if token is None else _shown(token.text)
        raise PatternError(f"expected an object path such as ipv4-addr:value, found {shown}")
    object_type, colon, prop = token.text.partition(":")
    if not colon:
        raise PatternError(f"{_shown(token.text)} is not an object path (object-type:property)")
    object_type = object_type.lower()
    if object_type not in ENTRY_KINDS:
        raise PatternError(
            f"object type {_shown(object_type)} is not supported; "
            f"use one of {', '.join(ENTRY_KINDS)}"
        )
    if prop.lower() != PROPERTY:
        raise PatternError(
            f"object path {_shown(token.text)} is not supported; only {object_type}:{PROPERTY}"
        )
    return object_type


def _equals(token: _Token | None, path: str) -> None:
    if token is None:
        raise PatternError(f"{path} needs = and a quoted value")
    if token.text == "[" or token.kind == "string":
        # The path goes on (value[0], value'x'): a deeper path than this subset reads.
        raise PatternError(f"object path {path}{token.text[:_SHOWN]}... is not supported")
    if token.word == "NOT":
        raise PatternError("negated comparisons (NOT) are not supported; only =")
    if token.word in _OPERATOR_WORDS or (token.kind == "op" and token.text != "="):
        raise PatternError(f"operator {token.word or token.text} is not supported; only =")
    if token.text != "=":
        raise PatternError(f"expected = after {path}, found {_shown(token.text)}")


def _end(tokens: Iterator[_Token]) -> None:
    close = next(tokens, None)
    if close is None:
        raise PatternError("the pattern ends without its closing ']'")
    if close.word in _JOINS:
        raise PatternError(f"only a single comparison is supported; found {close.word}")
    if close.text != "]":
        raise PatternError(f"expected ']' after the value, found {_shown(close.text)}")
    rest = next(tokens, None)
    if rest is None:
        return
    if rest.word in _JOINS:
        raise PatternError(f"only a single observation is supported; found {rest.word}")
    if rest.word in _QUALIFIERS:
        raise PatternError(f"qualifiers ({rest.word}) are not supported")
    raise PatternError(f"unexpected {_shown(rest.text)} after the closing ']'")
