"""Resuming a workdir: what a saved config may differ in, and reading older saved configs.

A field's role (``dcgan.config.fields``) says what a resumed run may do with it:
``check_resumable`` refuses the rest. ``saved_values`` reads a config.json written
before a field was renamed or replaced. Loads no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable
from typing import Any

from dcgan.config.fields import RUN, STATE, ConfigError
from dcgan.options import format_value

# Old names of renamed fields, old -> new: older runs' config.json holds the old name,
# and ``dcgan.train`` still accepts the old flag (with a warning).
RENAMED_FIELDS = {"noise": "noise_distribution"}
# Old fields whose meaning moved into other fields: old -> (a function from the old
# value to the new fields' values, the replacement as flags spell it). Older runs'
# config.json may hold them, and ``dcgan.train`` still accepts the old flag (with a
# warning).
REPLACED_FIELDS: dict[str, tuple[Callable[[Any], dict[str, Any]], str]] = {
    "r1_weight": (
        lambda gamma: {"penalty": "r1", "penalty_weight": gamma} if gamma else {},
        "--penalty=r1 --penalty_weight=GAMMA",
    ),
}


def saved_values(values: dict[str, Any], known: set[str]) -> dict[str, Any]:
    """The fields of a saved config.json, old names and replaced fields translated.

    Args:
        values: the file's JSON object.
        known: the names of today's fields.

    Raises:
        ConfigError: for a field under both its names, or unknown fields.
    """
    values = dict(values)
    for old, new in RENAMED_FIELDS.items():
        if old in values:
            if new in values:
                raise ConfigError(
                    f"config fields {old!r} and {new!r} both given; {old!r} is the old "
                    f"name of {new!r}: keep only {new!r}"
                )
            values[new] = values.pop(old)  # a run saved before the rename
    for old, (translate, _) in REPLACED_FIELDS.items():
        if old in values:
            values.update(translate(values.pop(old)))
    unknown = sorted(set(values) - known)
    if unknown:
        close = difflib.get_close_matches(unknown[0], known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(
            f"unknown config fields {unknown}{hint}; allowed: the {len(known)} fields of "
            "python -m dcgan.train --helpfull"
        )
    return values


def check_resumable(saved: Any, config: Any) -> None:
    """Refuses to resume a workdir whose saved run differs in what the model learns.

    RUN fields may always change; STATE fields never (the checkpoint could not hold
    them); any other field only when ``config.allow_flag_changes`` names it.

    Raises:
        ConfigError: naming the field, the saved value, the new one and the way out.
    """
    for field in dataclasses.fields(config):
        name, role = field.name, field.metadata["role"]
        old, new = getattr(saved, name), getattr(config, name)
        if role == RUN or old == new:
            continue
        prefix = (
            f"--{name}={format_value(new)} differs from {format_value(old)} in the run saved "
            f"in {config.workdir}"
        )
        if role == STATE:
            raise ConfigError(
                f"{prefix}; it shapes the saved checkpoint, so resume with the same "
                "value or use a new --workdir"
            )
        if name not in config.allow_flag_changes:
            raise ConfigError(
                f"{prefix}; pass --allow_flag_changes={name} to change it, or use a new --workdir"
            )
