"""Shrunk run configurations the tests share: tiny networks that train in moments."""

import glob
import os
import re
import shutil

import numpy as np
from absl import flags

from dcgan.config import Config
from dcgan.config import flags as config_flags

# 28 px glyphs through 4-filter DCGAN networks, 2x2 sample grids.
TINY_IMAGE = dict(
    dataset="glyphs",
    image_size=28,
    latent_dim=8,
    g_base_width=4,
    d_base_width=4,
    batch_size=8,
    grid_size=2,
)
# The metrics every train step returns, whatever the objective.
STEP_METRICS = frozenset(
    {
        "d_loss",
        "d_loss_real",
        "d_loss_fake",
        "d_output_real",
        "d_output_fake",
        "d_grad_norm",
        "g_loss",
        "g_grad_norm",
    }
)
# One hidden layer of 16 units in each MLP.
TINY_VECTOR = dict(latent_dim=4, g_hidden_units=(16,), d_hidden_units=(16,), batch_size=32)


def tiny_image(workdir, **overrides) -> Config:
    """A tiny image run in ``workdir``; ``overrides`` replace any field."""
    return Config(workdir=str(workdir), **{**TINY_IMAGE, **overrides})


def tiny_vector(workdir, dataset="ring2d", **overrides) -> Config:
    """A tiny MLP run on a vector ``dataset`` in ``workdir``."""
    return Config(workdir=str(workdir), **{**TINY_VECTOR, "dataset": dataset, **overrides})


def from_flags(*args: str) -> Config:
    """The ``Config`` that ``python -m dcgan.train *args`` would train, parsed here.

    The flags are defined in a fresh ``absl.flags.FlagValues``, so this process's own
    flags stay untouched; a ``--flagfile`` is read as the command reads it.
    """
    values = flags.FlagValues()
    config_flags.define_flags(values)
    values(["dcgan.train", *args])
    return config_flags.config_from_flags(values)


def assert_same_nets(single, mirror, *, atol=1e-4, loose=(), loose_atol=0.0) -> None:
    """``mirror``'s G and D weights equal ``single``'s to float rounding (the variables
    whose path holds a name of ``loose`` within ``loose_atol``)."""
    pairs = zip(
        single.generator.weights + single.discriminator.weights,
        mirror.generator.weights + mirror.discriminator.weights,
        strict=True,
    )
    for a, b in pairs:
        tolerance = loose_atol if any(name in a.path for name in loose) else atol
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-3, atol=tolerance, err_msg=a.path)


def rewound_copy(workdir, copy, step: int) -> None:
    """Copies the run in ``workdir`` to ``copy`` as it stood at its checkpoint of ``step``:
    the later checkpoints' files deleted, so a run in ``copy`` resumes from ``step``.

    Resuming a copy costs one run where a second session to ``step`` would cost two;
    tests/test_loop_reliability.py stops sessions and resumes them for real.
    """
    shutil.copytree(workdir, copy)
    later = [
        path
        for path in glob.glob(os.path.join(copy, "checkpoints", "ckpt-*.*"))
        if int(re.match(r"ckpt-(\d+)\.", os.path.basename(path)).group(1)) > step
    ]
    assert later, f"{workdir} has no checkpoint after step {step} to delete"
    for path in later:
        os.remove(path)
