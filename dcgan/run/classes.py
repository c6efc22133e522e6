"""The classes of a conditional run: read from its data once, kept in ``classes.json``.

A run with ``--conditioning`` learns as many classes as its source holds. When it
starts, ``resolve`` reads the names from the data (``dcgan.data.class_names``), sets
``num_classes`` in the config (saved in ``config.json``, so the networks are rebuilt
without the data) and writes the names to ``W/classes.json``; a resumed run must find
the same classes. The commands that sample read the names back to take ``--classes``
by name (``parse``).
"""

from __future__ import annotations

import dataclasses
import json
import os

import tensorflow as tf

from dcgan import data
from dcgan.config import Config, ConfigError
from dcgan.io import storage

FILE = "classes.json"


def path(workdir: str) -> str:
    """Where a run's class names are kept."""
    return os.path.join(workdir, FILE)


def read(workdir: str) -> tuple[str, ...] | None:
    """The class names saved in ``workdir``, or None where none are.

    Raises:
        ConfigError: if the file is there but is not a list of names.
    """
    file = path(workdir)
    if not tf.io.gfile.exists(file):
        return None
    try:
        names = json.loads(storage.read_text(file))
    except (ValueError, tf.errors.OpError) as e:
        names = e
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ConfigError(
            f"{file} is not the list of class names dcgan.train wrote; allowed: that file, "
            "or a new --workdir"
        )
    return tuple(names)


def write(workdir: str, names: tuple[str, ...]) -> None:
    """Saves ``names`` in ``workdir`` (atomically)."""
    tf.io.gfile.makedirs(workdir)
    storage.write_text(path(workdir), json.dumps(list(names), ensure_ascii=False) + "\n")


def resolve(config: Config) -> tuple[Config, tuple[str, ...]]:
    """The classes of a conditional run's data, and its config with ``num_classes``.

    Args:
        config: the run; without conditioning it is returned as it is, with no names.

    Raises:
        DataError: if the source has no class labels.
        ConfigError: if ``--num_classes`` is not the source's count, or the workdir's
            run was trained on other classes.
    """
    if config.conditioning == "none":
        return config, ()
    names = data.class_names(
        config.dataset,
        data_dir=config.data_dir or None,
        data_file=config.data_file or None,
        data_pattern=config.data_pattern or None,
        tfds_download=config.tfds_download,
    )
    if config.num_classes not in (0, len(names)):
        raise ConfigError(
            f"--num_classes={config.num_classes} does not match the data: "
            f"--dataset={config.dataset} holds {len(names)} classes; allowed: "
            f"--num_classes=0 or {len(names)}"
        )
    saved = read(config.workdir)
    if saved is not None and saved != names:
        changed = next(
            (
                f"class {i} is {a!r}, was {b!r}"
                for i, (a, b) in enumerate(zip(names, saved, strict=False))
                if a != b
            ),
            f"{len(names)} classes, were {len(saved)}",
        )
        raise ConfigError(
            f"the data's classes differ from those --workdir={config.workdir} was trained on "
            f"({changed}); allowed: the same classes, or a new --workdir"
        )
    return dataclasses.replace(config, num_classes=len(names)), names


def parse(spec: str, names: tuple[str, ...]) -> list[int]:
    """The class indices of ``--classes``: comma-separated names or indices.

    A name wins over an index (a class may be named ``"3"``); ``"all"`` is every class.

    Raises:
        ConfigError: for a class the run does not have, naming the allowed ones.
    """
    if spec == "all":
        return list(range(len(names)))
    chosen = []
    for item in spec.split(","):
        if item in names:
            chosen.append(names.index(item))
        elif item.isdigit() and int(item) < len(names):
            chosen.append(int(item))
        else:
            shown = ", ".join(names if len(names) <= 20 else [*names[:20], "..."])
            raise ConfigError(
                f"--classes={spec}: {item!r} is not a class of this run; allowed: all, or "
                f"names or indices 0-{len(names) - 1} of {len(names)} classes ({shown})"
            )
    return chosen
