"""Settings tables (a TOML section, the values of flags) into checked settings dataclasses, torch-free."""

from __future__ import annotations

import math
from dataclasses import fields
from typing import get_args, get_type_hints

from seqtag.errors import DataError


def make_config(cls, values: dict, section: str, choices: dict[str, tuple[str, ...]]):
    """A settings dataclass from a dict (a TOML table, flags): unknown keys, wrong types and bad choices are
    errors that name the setting."""
    defaults = {f.name: f.default for f in fields(cls)}
    unknown = sorted(set(values) - set(defaults))
    if unknown:
        raise DataError(f"unknown {section} setting(s): {', '.join(unknown)}; known: {', '.join(defaults)}")
    hints = get_type_hints(cls)
    for name, value in values.items():
        expected = tuple(t for t in get_args(hints[name]) or (hints[name],) if t is not type(None))
        if value is not None and (not isinstance(value, expected + ((int,) if float in expected else ()))
                                  or isinstance(value, bool) and bool not in expected):
            raise DataError(f"{section} {name} must be of type {expected[0].__name__}, not {value!r}")
    for name, allowed in choices.items():
        if name in values and values[name] not in allowed:
            raise DataError(f"{section} {name} must be one of {', '.join(allowed)}, not {values[name]!r}")
    for name, value in values.items():  # sizes and counts at least 1, rates in their range
        if isinstance(value, float) and not math.isfinite(value):  # nan passes every comparison below
            raise DataError(f"{section} {name} must be a finite number, not {value!r}")
        low, high = getattr(cls, "LIMITS", {}).get(name, (1, None) if type(defaults[name]) is int else (None, None))
        if isinstance(value, (int, float)) and not isinstance(value, bool) and (
                (low is not None and value < low) or (high is not None and value > high)):
            bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise DataError(f"{section} {name} must be {bounds}, not {value!r}")
    return cls(**values)
