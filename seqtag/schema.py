"""Shapes of the JSON files seqtag reads back and cannot trust (model.json, a many-file run's manifest): each field's
type and range, checked at load so that a hand-edited or damaged field is refused with its name, before any code
uses it.

A shape is a small value: a Python type (`str`, `bool`), `Number`/`Whole` with bounds, `List(item)`, `Record`
(named fields, each optional unless listed as required; other keys are passed over, for files written by a newer
seqtag), `Map(value)` (any keys) or `OneOf(names)`. `problem(value, shape)` says what is wrong, or None.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Number:
    """A finite int or float (never a bool) within [low, high] (by default, what a float can hold)."""

    low: float = -sys.float_info.max
    high: float = sys.float_info.max
    whole: bool = False

    def problem(self, value: Any) -> str | None:
        kinds = (int,) if self.whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds):
            return f"is {_shown(value)}, expected {'a whole number' if self.whole else 'a number'}"
        if (isinstance(value, float) and not math.isfinite(value)) or not self.low <= value <= self.high:
            if (self.low, self.high) == (-sys.float_info.max, sys.float_info.max):
                return f"is {_shown(value)}, expected a finite number"
            return f"is {_shown(value)}, expected a number from {self.low:g} to {self.high:g}"
        return None


def Whole(low: float = 0, high: float = 2 ** 53) -> Number:
    return Number(low, high, whole=True)


@dataclass(frozen=True)
class List:
    item: Any
    least: int = 0  # items

    def problem(self, value: Any) -> str | None:
        if not isinstance(value, list):
            return f"is {_shown(value)}, expected a list"
        if len(value) < self.least:
            return f"has {len(value)} items, expected at least {self.least}"
        return _first(((f"[{index}]", item) for index, item in enumerate(value)), self.item)


@dataclass(frozen=True)
class Record:
    fields: dict
    required: tuple = ()
    also: Callable[[dict], str | None] | None = None  # a check across fields, once each field fits

    def problem(self, value: Any) -> str | None:
        if not isinstance(value, dict):
            return f"is {_shown(value)}, expected an object"
        missing = [name for name in self.required if name not in value]
        if missing:
            return f"has no {missing[0]!r}"
        for name, shape in self.fields.items():
            if name in value:
                found = problem(value[name], shape)
                if found:
                    return where(f".{name}", found)
        return self.also(value) if self.also else None


@dataclass(frozen=True)
class OneOf:
    values: tuple

    def problem(self, value: Any) -> str | None:
        if isinstance(value, str) and value in self.values:
            return None
        return f"is {_shown(value)}, expected one of {', '.join(self.values)}"


@dataclass(frozen=True)
class Map:
    value: Any

    def problem(self, value: Any) -> str | None:
        if not isinstance(value, dict):
            return f"is {_shown(value)}, expected an object"
        return _first(((f"[{key!r}]", item) for key, item in value.items()), self.value)


@dataclass(frozen=True)
class Maybe:
    """The shape, or null."""

    shape: Any

    def problem(self, value: Any) -> str | None:
        return None if value is None else problem(value, self.shape)


def problem(value: Any, shape: Any) -> str | None:
    """What is wrong with `value` as `shape`, starting with the path inside it (".training.lr is 'x', expected a
    number"); None where it fits."""
    if isinstance(shape, type):
        if isinstance(value, shape) and not (shape is int and isinstance(value, bool)):
            return None
        return f"is {_shown(value)}, expected {_NAMES.get(shape, shape.__name__)}"
    return shape.problem(value)


def _first(items, shape: Any) -> str | None:
    """The first problem among (name, value) `items`, each as `shape`, said of its name."""
    for name, item in items:
        found = problem(item, shape)
        if found:
            return where(name, found)
    return None


def where(name: str, found: str) -> str:
    """`found` (from problem) said of the field `name`: 'training.lr is ...'; of the document where `name` is ''."""
    if not name:
        return found.removeprefix(".")
    return f"{name}{found}" if found.startswith(("[", ".")) else f"{name} {found}"


_NAMES = {str: "a string", bool: "true or false", dict: "an object", list: "a list"}


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) or (isinstance(value, int) and abs(value) < 10 ** 40):
        return repr(value)
    if isinstance(value, int):
        return "a number of more than 40 digits"
    kind = {str: "a string", list: "a list", dict: "an object"}
    return kind.get(type(value), type(value).__name__)
