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
from dcgan.config.fields import ConfigError, applies, check_explicit_flags, choices
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


@dataclasses.dataclass(frozen=True)
class Parsed:
    """The run the flags describe.

    Attributes:
        config: the run's ``Config``.
        dropped: flags a flagfile set that have no effect with the flags given on the
            command line, dropped (their fields keep their defaults).
    """

    config: Config
    dropped: tuple[str, ...] = ()

    def note(self) -> str | None:
        """One line on the dropped flags, or None."""
        if not self.dropped:
            return None
        names = ", ".join(f"--{name}" for name in self.dropped)
        verb = "has" if len(self.dropped) == 1 else "have"
        return (
            f"note: {names} from the flagfile {verb} no effect with the flags given on the "
            "command line: dropped"
        )


def config_from_flags(flag_values: flags.FlagValues = flags.FLAGS) -> Config:
    """Builds the Config from the parsed flags, refusing flags that would be ignored (every
    flag counts as typed: see ``parse`` for flagfiles overridden on the command line).

    Raises:
        ConfigError: for an invalid value or combination.
    """
    return parse(flag_values).config


def parse(flag_values: flags.FlagValues = flags.FLAGS, argv: list[str] | None = None) -> Parsed:
    """The run the parsed flags describe, the absl way for flagfiles.

    A flag typed on the command line (in ``argv``) overrides a flagfile's. Options of the
    flagfile that the override makes moot (``--best_metric`` once ``--eval_every=0`` is
    typed, another loss family's options once ``--loss`` is) are dropped; a flag typed
    that has no effect is refused, as is any flag with no effect when ``argv`` is None.

    Raises:
        ConfigError: for an invalid value or combination, or a typed flag with no effect.
    """
    for old, new in RENAMED_FIELDS.items():
        if 0 < flag_values[old].present < flag_values[new].present:  # the alias counts on both
            raise ConfigError(
                f"--{old} and --{new} both given; --{old} is the deprecated name of --{new}: "
                f"give only --{new}"
            )
    replaced = _replaced_values(flag_values)
    values = {name: _value(flag_values, name) for name in FIELDS} | replaced
    given = {name for name in FIELDS if flag_values[name].present} | set(replaced)
    dropped = []
    if argv is not None:
        typed = _typed(argv, flag_values) & given
        dropped = _moot(values, given - typed, _flagfile_values(argv, flag_values))
    config = Config(**values)
    check_explicit_flags(config, given - set(dropped))
    return Parsed(config, tuple(dropped))


def _flagfile_values(argv: list[str], flag_values: flags.FlagValues) -> dict[str, typing.Any]:
    """Every field's value in the run the flagfiles of ``argv`` describe on their own."""
    files = []
    for i, token in enumerate(argv[1:], start=1):
        if token.lstrip("-").startswith("flagfile"):
            # --flagfile=PATH, or --flagfile PATH
            files += [token] if "=" in token else [token, *argv[i + 1 : i + 2]]
    alone = flags.FlagValues()
    define_flags(alone)
    alone([argv[0], *flag_values.read_flags_from_files(files, force_gnu=False)])
    return {name: _value(alone, name) for name in FIELDS} | _replaced_values(alone)


def _typed(argv: list[str], flag_values: flags.FlagValues) -> set[str]:
    """The fields named by flags on the command line ``argv`` (not in a flagfile)."""
    names = set()
    for token in argv[1:]:
        if token == "--":
            break
        if not token.startswith("-"):
            continue
        name = token.lstrip("-").split("=", 1)[0]
        if name not in flag_values and name.startswith("no") and name[2:] in flag_values:
            name = name[2:]  # --noflag
        name = RENAMED_FIELDS.get(name, name)
        if name in REPLACED_FIELDS:
            names |= set(REPLACED_FIELDS[name][0](1.0))  # the fields it stands for
        names.add(name)
    return names


def _moot(values: dict[str, typing.Any], untyped: set[str], alone: dict) -> list[str]:
    """Resets the flagfile options that the command line made moot to their defaults,
    until none is left (a reset can make another moot); returns their names.

    Moot: an option that applies in the run of the flagfiles ``alone`` but not in the run
    of ``values``. One that applies in neither is a flagfile's own mistake, left for the
    check of flags without effect.
    """
    dropped = []
    try:
        applied_alone = {name for name in untyped if applies(_unchecked(alone), name)}
        while True:
            run = _unchecked(values)
            moot = sorted(n for n in applied_alone - set(dropped) if not applies(run, n))
            if not moot:
                return dropped
            for name in moot:
                values[name] = FIELDS[name].default
            dropped += moot
    except Exception:  # an invalid value: Config names it
        return dropped


def _unchecked(values: dict[str, typing.Any]) -> Config:
    """A Config of ``values`` that is not checked, to ask which fields apply."""
    config = object.__new__(Config)
    for name, value in values.items():
        object.__setattr__(config, name, value)
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
