"""Label selectors: the equality maps of services and replication controllers, and the query language of ``-l``.

Two kinds, as in Kubernetes:

* A selector *map* (``{"name": "redis"}``) in a service or replication controller selects the pods whose labels
  include every pair. An empty map selects nothing, as it did for services and controllers in 2014.
* A selector *expression* given with ``kubeplay get pods -l``: comma-separated requirements ``a=b``, ``a==b``,
  ``a!=b``, ``a in (x,y)``, ``a notin (x)``, ``a`` (the label exists) and ``!a`` (it does not). All must hold;
  an empty expression selects everything.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

from kubeplay.dataclass import dataclass
from kubeplay.names import label_key_error, label_value_error

Operator = Literal["=", "!=", "in", "notin", "exists", "!"]


@dataclass(frozen=True)
class Requirement:
    """One condition on one label key."""

    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        if self.operator in ("=", "in"):
            return present and labels[self.key] in self.values
        return not present or labels[self.key] not in self.values

    def __str__(self) -> str:
        if self.operator == "exists":
            return self.key
        if self.operator == "!":
            return f"!{self.key}"
        if self.operator in ("=", "!="):
            return f"{self.key}{self.operator}{self.values[0]}"
        return f"{self.key} {self.operator} ({','.join(self.values)})"


@dataclass(frozen=True)
class Selector:
    """A parsed selector expression: every requirement must hold."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(r.matches(labels) for r in self.requirements)

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def matches(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """Whether a selector map selects ``labels``: every pair present. An empty selector selects nothing."""
    return bool(selector) and selector.items() <= labels.items()  # (each pair in labels: no Python loop)


def selecting(selectors: Sequence[Mapping[str, str]]) -> Callable[[Mapping[str, str]], list[int]]:
    """A look-up of the selector maps that select given labels (their indexes, in order). The selectors are indexed
    by each key=value pair, so a look-up reads only those sharing a pair with the labels (5,000 controllers over
    20,000 pods: not 100 million matches)."""
    index: dict[tuple[str, str], list[int]] = {}
    for number, selector in enumerate(selectors):
        for pair in selector.items():
            index.setdefault(pair, []).append(number)

    def lookup(labels: Mapping[str, str]) -> list[int]:
        found = [n for pair in labels.items() for n in index.get(pair, ())]
        if len(found) > 1:  # (most labels are one selector's: nothing to merge)
            found = sorted(set(found))
        return [n for n in found if matches(selectors[n], labels)]

    return lookup


def format_selector(selector: Mapping[str, str]) -> str:
    """A selector map as ``a=b,c=d`` in key order (the seed's Selector column)."""
    return ",".join(f"{key}={value}" for key, value in sorted(selector.items()))


def parse_selector(text: str) -> Selector:
    """Parse a selector expression; raise ValueError saying what is wrong and where."""
    return _Parser(text).selector()


_TOKEN = r"\s*(?:(?P<op>==|!=|=|!|\(|\)|,)|(?P<word>[^\s=!(),]+))"  # (compiled for a selector written as text)


@dataclass(frozen=True)
class _Token:
    text: str
    position: int
    is_word: bool


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position, token = 0, re.compile(_TOKEN)
    while position < len(text):
        if text[position:].isspace():
            break
        match = token.match(text, position)
        if not match:  # pragma: no cover - every non-space character starts a token
            raise ValueError(f"invalid selector {text!r}: unexpected character at position {position + 1}")
        word = match["word"]
        start = match.start("word") if word else match.start("op")
        tokens.append(_Token(word or match["op"], start, bool(word)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.index = 0

    def selector(self) -> Selector:
        requirements: list[Requirement] = []
        if not self.tokens:
            return Selector()
        while True:
            requirements.append(self.requirement())
            if self._peek() is None:
                return Selector(tuple(requirements))
            self._expect(",")

    def requirement(self) -> Requirement:
        if self._accept("!"):
            return Requirement(self._key(), "!")
        key = self._key()
        following = self._peek()
        if following is None or following.text == ",":
            return Requirement(key, "exists")
        if following.text in ("=", "==", "!="):
            self.index += 1
            operator: Operator = "!=" if following.text == "!=" else "="
            return Requirement(key, operator, (self._value(),))
        if following.is_word and following.text in ("in", "notin"):
            self.index += 1
            return Requirement(key, "in" if following.text == "in" else "notin", self._value_set())
        raise self._error(following, "expected =, ==, !=, in, notin or ','")

    def _key(self) -> str:
        token = self._next("a label key")
        if not token.is_word:
            raise self._error(token, "expected a label key")
        problem = label_key_error(token.text)
        if problem:
            raise self._error(token, f"label key {token.text!r} {problem}")
        return token.text

    def _value(self) -> str:
        token = self._peek()
        if token is None or not token.is_word:
            return ""
        self.index += 1
        problem = label_value_error(token.text)
        if problem:
            raise self._error(token, f"label value {token.text!r} {problem}")
        return token.text

    def _value_set(self) -> tuple[str, ...]:
        self._expect("(")
        values = [self._value()]
        while self._accept(","):
            values.append(self._value())
        self._expect(")")
        if values == [""]:
            raise ValueError(f"invalid selector {self.text!r}: 'in' and 'notin' need at least one value")
        return tuple(values)

    def _peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _next(self, wanted: str) -> _Token:
        token = self._peek()
        if token is None:
            raise ValueError(f"invalid selector {self.text!r}: expected {wanted} at the end")
        self.index += 1
        return token

    def _accept(self, text: str) -> bool:
        token = self._peek()
        if token is not None and not token.is_word and token.text == text:
            self.index += 1
            return True
        return False

    def _expect(self, text: str) -> None:
        token = self._next(f"'{text}'")
        if token.is_word or token.text != text:
            raise self._error(token, f"expected '{text}'")

    def _error(self, token: _Token, message: str) -> ValueError:
        return ValueError(
            f"invalid selector {self.text!r}: {message} at position {token.position + 1} (found {token.text!r})"
        )
