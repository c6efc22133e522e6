"""absl flags from the ``Config`` fields, and the ``Config`` the parsed flags give.

``define_flags`` makes one flag per field from its type, default and metadata (help, the
choices of a ``Choice`` spec), plus the deprecated spellings of ``resume``'s renamed and
replaced fields; ``dcgan.train`` calls it, so flags are defined by that entry point
alone. ``config_from_flags`` builds the run's ``Config`` and refuses flags that would be
ignored. Loads no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import typing

from absl import flags

from dcgan.config.core import Config
from dcgan.config.fields import ConfigError, check_explicit_flags, choices
from dcgan.config.resume import RENAMED_FIELDS, REPLACED_FIELDS

FIELDS = {f.name: f for f in dataclasses.fields(Config)}
_TYPES = typing.get_type_hints(Config)
# By the field's type; a tuple is a list flag.
_DEFINE = {
    bool: flags.DEFINE_bool,
    int: flags.DEFINE_integer,
    float: flags.DEFINE_float,
    str: flags.DEFINE_string,
}


def define_flags(flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """Defines a flag for every ``Config`` field, and the deprecated spellings."""
    for field in FIELDS.values():
        _define(field, flag_values)
    for old, new in RENAMED_FIELDS.items():
        flags.DEFINE_alias(old, new, flag_values=flag_values)  # sets the new flag
    for old, (_, replacement) in REPLACED_FIELDS.items():
        flags.DEFINE_float(old, None, f"Deprecated: use {replacement}.", flag_values=flag_values)


def _define(field: dataclasses.Field, flag_values: flags.FlagValues) -> None:
    kind, values, help_text = _TYPES[field.name], choices(field), field.metadata["help"]
    # No default for a required field (--workdir): Config refuses the empty value.
    default = None if field.default is dataclasses.MISSING else field.default
    if values:  # an enum of strings, also for ints (converted back in _value)
        flags.DEFINE_enum(
            field.name, str(default), [str(c) for c in values], help_text, flag_values=flag_values
        )
    elif kind in _DEFINE:
        _DEFINE[kind](field.name, default, help_text, flag_values=flag_values)
    else:
        flags.DEFINE_list(field.name, list(default), help_text, flag_values=flag_values)


def _value(flag_values: flags.FlagValues, name: str) -> typing.Any:
    """The value of flag ``name`` as its field's type."""
    kind, value = _TYPES[name], flag_values[name].value
    if value is None:
        return ""  # only --workdir has no default
    if choices(FIELDS[name]) and kind is int:
        return int(value)
    number = {tuple[int, ...]: int, tuple[float, ...]: float}.get(kind)
    if number is None:
        return value  # Config makes lists tuples
    try:
        return tuple(number(item) for item in value)
    except ValueError:
        raise ConfigError(
            f"--{name}={','.join(value)} is invalid; allowed: a comma-separated list of "
            f"{'integers' if number is int else 'numbers'}"
        ) from None


def _replaced_values(flag_values: flags.FlagValues) -> dict[str, typing.Any]:
    """The new fields' values that the deprecated flags given stand for."""
    values = {}
    for old, (translate, replacement) in REPLACED_FIELDS.items():
        if flag_values[old].value is None:
            continue
        replaced = translate(flag_values[old].value)
        both = sorted(name for name in replaced if flag_values[name].present)
        if both:
            raise ConfigError(
                f"--{old} and --{both[0]} both given; --{old} is the deprecated form of "
                f"{replacement}: give only those"
            )
        values.update(replaced)
    return values


def config_from_flags(flag_values: flags.FlagValues = flags.FLAGS) -> Config:
    """Builds the Config from the parsed flags, refusing flags that would be ignored.

    Raises:
        ConfigError: for an invalid value or combination.
    """
    for old, new in RENAMED_FIELDS.items():
        if 0 < flag_values[old].present < flag_values[new].present:  # the alias counts on both
            raise ConfigError(
                f"--{old} and --{new} both given; --{old} is the deprecated name of --{new}: "
                f"give only --{new}"
            )
    replaced = _replaced_values(flag_values)
    config = Config(**{name: _value(flag_values, name) for name in FIELDS} | replaced)
    explicit = {name for name in FIELDS if flag_values[name].present} | set(replaced)
    check_explicit_flags(config, explicit)
    return config


def deprecation_warnings(flag_values: flags.FlagValues = flags.FLAGS) -> list[str]:
    """One line for each deprecated flag given, naming what replaces it."""
    lines = [
        f"--{old} is deprecated; use --{new}"
        for old, new in RENAMED_FIELDS.items()
        if flag_values[old].present
    ]
    lines += [
        f"--{old} is deprecated; use {replacement}"
        for old, (_, replacement) in REPLACED_FIELDS.items()
        if flag_values[old].present
    ]
    return lines
