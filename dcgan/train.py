r"""Trains a GAN: ``python -m dcgan.train --flagfile=experiments/quickstart.flags``.

Flags live only here: one per ``Config`` field, defined from the field's type, default
and metadata (help, choices); they become the ``Config`` that everything below receives.
A workdir that holds a checkpoint is resumed from it. Errors in flags, data or
checkpoints end the run with one line on stderr before any training.
"""

from __future__ import annotations

import dataclasses
import sys
import typing

from absl import app, flags

from dcgan import cli
from dcgan import config as config_lib

_PROGRAM = "dcgan.train"
_FIELDS = {f.name: f for f in dataclasses.fields(config_lib.Config)}
_TYPES = typing.get_type_hints(config_lib.Config)
# By the field's type; a tuple is a list flag.
_DEFINE = {
    bool: flags.DEFINE_bool,
    int: flags.DEFINE_integer,
    float: flags.DEFINE_float,
    str: flags.DEFINE_string,
}


def _define(field: dataclasses.Field) -> None:
    kind, choices, help_text = _TYPES[field.name], field.metadata["choices"], field.metadata["help"]
    # No default for a required field (--workdir): Config refuses the empty value.
    default = None if field.default is dataclasses.MISSING else field.default
    if choices:  # an enum of strings, also for ints (converted back in _value)
        flags.DEFINE_enum(field.name, str(default), [str(c) for c in choices], help_text)
    elif kind in _DEFINE:
        _DEFINE[kind](field.name, default, help_text)
    else:
        flags.DEFINE_list(field.name, list(default), help_text)


for _field in _FIELDS.values():
    _define(_field)
for _old, _new in config_lib.RENAMED_FIELDS.items():
    flags.DEFINE_alias(_old, _new)  # sets the new flag; main warns
for _old, (_, _replacement) in config_lib.REPLACED_FIELDS.items():
    flags.DEFINE_float(_old, None, f"Deprecated: use {_replacement}.")
FLAGS = flags.FLAGS


def _value(name: str) -> typing.Any:
    """The value of flag ``name`` as its field's type."""
    kind, value = _TYPES[name], FLAGS[name].value
    if value is None:
        return ""  # only --workdir has no default
    if _FIELDS[name].metadata["choices"] and kind is int:
        return int(value)
    number = {tuple[int, ...]: int, tuple[float, ...]: float}.get(kind)
    if number is None:
        return value  # Config makes lists tuples
    try:
        return tuple(number(item) for item in value)
    except ValueError:
        raise config_lib.ConfigError(
            f"--{name}={','.join(value)} is invalid; allowed: a comma-separated list of "
            f"{'integers' if number is int else 'numbers'}"
        ) from None


def _replaced_values() -> dict[str, typing.Any]:
    """The new fields' values that the deprecated flags given stand for."""
    values = {}
    for old, (translate, replacement) in config_lib.REPLACED_FIELDS.items():
        if FLAGS[old].value is None:
            continue
        replaced = translate(FLAGS[old].value)
        both = sorted(name for name in replaced if FLAGS[name].present)
        if both:
            raise config_lib.ConfigError(
                f"--{old} and --{both[0]} both given; --{old} is the deprecated form of "
                f"{replacement}: give only those"
            )
        values.update(replaced)
    return values


def config_from_flags() -> config_lib.Config:
    """Builds the Config from the parsed flags, refusing flags that would be ignored.

    Raises:
        ConfigError: for an invalid value or combination.
    """
    for old, new in config_lib.RENAMED_FIELDS.items():
        if 0 < FLAGS[old].present < FLAGS[new].present:  # the alias counts on both
            raise config_lib.ConfigError(
                f"--{old} and --{new} both given; --{old} is the deprecated name of --{new}: "
                f"give only --{new}"
            )
    replaced = _replaced_values()
    config = config_lib.Config(**{name: _value(name) for name in _FIELDS} | replaced)
    explicit = {name for name in _FIELDS if FLAGS[name].present} | set(replaced)
    config_lib.check_explicit_flags(config, explicit)
    return config


def main(argv: list[str]) -> None:
    cli.check_no_arguments(_PROGRAM, argv)
    try:
        config = config_from_flags()
    except config_lib.ConfigError as e:
        cli.fail(_PROGRAM, e, cli.USAGE_ERROR)
    for old, new in config_lib.RENAMED_FIELDS.items():
        if FLAGS[old].present:
            print(f"{_PROGRAM}: warning: --{old} is deprecated; use --{new}", file=sys.stderr)
    for old, (_, replacement) in config_lib.REPLACED_FIELDS.items():
        if FLAGS[old].present:
            print(f"{_PROGRAM}: warning: --{old} is deprecated; use {replacement}", file=sys.stderr)
    # Imported after the flag checks: TensorFlow takes seconds to load.
    cli.quiet_tensorflow()
    from dcgan import data
    from dcgan.distribute import devices
    from dcgan.evaluation import features
    from dcgan.run import loop, workdir

    try:
        loop.train(config)
    except (config_lib.ConfigError, devices.DistributeError) as e:
        cli.fail(_PROGRAM, e, cli.USAGE_ERROR)
    except (
        data.DataError,
        workdir.CheckpointError,
        workdir.WorkdirError,
        loop.NonFiniteError,
        features.EvaluationError,
    ) as e:
        cli.fail(_PROGRAM, e, cli.INPUT_ERROR)


if __name__ == "__main__":
    app.run(main, flags_parser=cli.flags_parser(_PROGRAM))
