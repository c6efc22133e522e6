"""What an option may be: specs with their checks, and one error for flags and calls alike.

Every layer states the values its options take once, in a module free of TensorFlow (the
``choices`` module of ``data``, ``gan``, ``step``, ``distribute`` and ``evaluation``). The
config declares each field with one of these specs, and the library code that keeps
argument checks for direct callers checks with the same spec, so a bound or a list of
names is written in one place.

An ``OptionError`` names options as ``{name}`` fields of a template, so that one rule has
one message: ``--n_critic=0 is invalid; …`` for the flags that set it, ``n_critic=0 is
invalid; …`` for a Python call. Imports nothing but the standard library.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

# {name}: the option with its value; {name=literal}: with that value; {--name}: the name.
_FIELD = re.compile(r"\{(--)?(\w+)(?:=([^{}]*))?\}")


def format_value(value: Any) -> str:
    """``value`` as a flag spells it: a tuple comma-separated, anything else ``str``."""
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _python_literal(text: str) -> str:
    """A template's literal as Python writes it: numbers bare, words quoted."""
    try:
        float(text)
    except ValueError:
        return repr(text)
    return text


class OptionError(ValueError):
    """An option value or combination that is not allowed; one line.

    ``str(error)`` spells options as a Python call does (``n_critic=0``);
    ``error.as_flags()`` as flags do (``--n_critic=0``).
    """

    def __init__(self, template: str, **values: Any):
        """Args:
        template: the message; ``{name}`` is an option of ``values`` with its value,
            ``{name=literal}`` an option with a given value, ``{--name}`` an option's
            name alone.
        **values: the options' values.
        """
        self.template = template
        self.values = values
        super().__init__(self.spelled(flags=False))

    def as_flags(self) -> str:
        """The message with options spelled as flags."""
        return self.spelled(flags=True)

    def spelled(self, *, flags: bool) -> str:
        def field(match: re.Match) -> str:
            bare, name, literal = match.groups()
            if bare:
                return f"--{name}" if flags else name
            if literal is not None:
                value = literal if flags else _python_literal(literal)
            elif name in self.values:
                value = self.values[name]
                value = format_value(value) if flags else repr(value)
            else:
                return match.group(0)  # not a field: text that happens to hold braces
            return f"--{name}={value}" if flags else f"{name}={value}"

        return _FIELD.sub(field, self.template)


def invalid(name: str, value: Any, allowed: str, **others: Any) -> OptionError:
    """``{name} is invalid; allowed: {allowed}``; ``allowed`` may name ``others``."""
    return OptionError(f"{{{name}}} is invalid; allowed: {allowed}", **{name: value}, **others)


def is_int(value: Any) -> bool:
    """Whether ``value`` is an integer and not a bool (a bool is an int to Python)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """Whether ``value`` is an int or a float and not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Spec:
    """What one option may be. Subclasses say ``allowed`` and ``accepts``."""

    allowed: str

    def accepts(self, value: Any) -> bool:
        raise NotImplementedError

    def check(self, name: str, value: Any) -> None:
        """Raises ``OptionError`` naming ``name`` and ``value`` unless the spec accepts it."""
        if not self.accepts(value):
            raise invalid(name, value, self.allowed)


@dataclasses.dataclass(frozen=True)
class Integer(Spec):
    """An integer (not a bool) of at least ``minimum``."""

    minimum: int

    @property
    def allowed(self) -> str:
        return f"an integer >= {self.minimum}"

    def accepts(self, value: Any) -> bool:
        return is_int(value) and value >= self.minimum


@dataclasses.dataclass(frozen=True)
class Number(Spec):
    """A number ``> low`` (``open_low``) or ``>= low``, and ``< high`` or ``<= high``.

    Attributes:
        low: the lower bound; None: none.
        high: the upper bound; None: none.
        open_low: whether ``low`` itself is excluded.
        open_high: whether ``high`` itself is excluded.
        note: said after the range, e.g. ``(0: off)``.
    """

    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False
    note: str = ""

    @property
    def allowed(self) -> str:
        if self.high is None:
            text = f"a number {'>' if self.open_low else '>='} {self.low}"
        else:
            left, right = "(" if self.open_low else "[", ")" if self.open_high else "]"
            text = f"a number in {left}{self.low}, {self.high}{right}"
        return f"{text} {self.note}" if self.note else text

    def accepts(self, value: Any) -> bool:
        if not is_number(value) or math.isnan(value):
            return False
        if self.low is not None and not (value > self.low if self.open_low else value >= self.low):
            return False
        if self.high is None:
            return True
        return value < self.high if self.open_high else value <= self.high


@dataclasses.dataclass(frozen=True)
class Choice(Spec):
    """One of ``values``, of the same type (``True`` is no ``1``, ``32.0`` no ``32``)."""

    values: tuple

    @property
    def allowed(self) -> str:
        return ", ".join(map(str, self.values))

    def accepts(self, value: Any) -> bool:
        return type(value) is type(self.values[0]) and value in self.values


@dataclasses.dataclass(frozen=True)
class Boolean(Spec):
    """True or False."""

    allowed = "true or false"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool)


@dataclasses.dataclass(frozen=True)
class Text(Spec):
    """A string; not empty unless ``allow_empty``.

    Attributes:
        allowed: what the string names, for the error.
        allow_empty: whether "" is accepted (an unset option).
    """

    allowed: str = "a string"
    allow_empty: bool = True

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and (self.allow_empty or value != "")


@dataclasses.dataclass(frozen=True)
class Integers(Spec):
    """A tuple of integers of at least ``minimum``; empty only if ``allow_empty``."""

    minimum: int = 1
    allow_empty: bool = False

    @property
    def allowed(self) -> str:
        positive = "positive integers" if self.minimum == 1 else f"integers >= {self.minimum}"
        if self.allow_empty:
            return f"a comma-separated list of {positive}, or empty"
        return f"a non-empty comma-separated list of {positive}"

    def accepts(self, value: Any) -> bool:
        return (
            isinstance(value, tuple)
            and (self.allow_empty or len(value) > 0)
            and all(is_int(item) and item >= self.minimum for item in value)
        )


@dataclasses.dataclass(frozen=True)
class Names(Spec):
    """A tuple of distinct names from ``values`` (or any strings if ``values`` is empty)."""

    values: tuple = ()

    @property
    def allowed(self) -> str:
        if not self.values:
            return "a comma-separated list of names"
        return f"empty or distinct names of {', '.join(self.values)}"

    def accepts(self, value: Any) -> bool:
        return (
            isinstance(value, tuple)
            and all(isinstance(item, str) for item in value)
            and len(set(value)) == len(value)
            and (not self.values or set(value) <= set(self.values))
        )
