"""The cases ``dcgan.benchmarks.perf`` times: a network, a way to step it, its input.

Every case starts from a ``Config`` (one of ``BASES``: the DCGAN paper's 64 px nets, or a
shipped flagfile) with a few fields overridden, and builds its networks through
``dcgan.run.builder`` with the Config's seed. ``prepare`` turns a case into one callable
that runs a call and waits for its result. A case whose overrides name a ``Config``
field this checkout does not have yet is listed and skipped (``missing_fields``).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import tempfile
from collections.abc import Callable

from dcgan.benchmarks import baselines, hardware
from dcgan.config import Config
from dcgan.distribute.choices import AUTO_PRECISION

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_UNUSED_WORKDIR = tempfile.gettempdir()  # Config needs one; nothing is written there
# The flagfile value parsers, by the field's annotated type.
_PARSE = {
    "int": int,
    "float": float,
    "str": str,
    "bool": lambda s: s.lower() in ("true", "1", ""),  # "--random_flip" alone means true
    "tuple[int, ...]": lambda s: tuple(int(u) for u in s.split(",") if u),
    "tuple[float, ...]": lambda s: tuple(float(u) for u in s.split(",") if u),
    "tuple[str, ...]": lambda s: tuple(u for u in s.split(",") if u),
}


def flagfile_config(name: str, **overrides) -> Config:
    """The ``Config`` of ``experiments/<name>``, parsed by the fields' types (no absl).

    Args:
        name: the flagfile's name, e.g. "quickstart.flags".
        **overrides: fields to set on top of the file's (a workdir is filled in).
            ``--precision=auto`` in the file becomes float32.
    """
    types = {f.name: f.type for f in dataclasses.fields(Config)}
    values = {"workdir": _UNUSED_WORKDIR}
    with open(os.path.join(_ROOT, "experiments", name)) as f:
        for line in f:
            if line.startswith("--"):
                key, _, raw = line.strip()[2:].partition("=")
                if key not in types and key.startswith("no") and types.get(key[2:]) == "bool":
                    key, raw = key[2:], "false"
                values[key] = _PARSE[types[key]](raw)
    if values.get("precision") == AUTO_PRECISION:
        # A case names its precision (the bfloat16 cases say so), the same on any machine.
        values["precision"] = "float32"
    return Config(**{**values, **overrides})


@dataclasses.dataclass(frozen=True)
class Base:
    """A starting Config and where its batches come from.

    Attributes:
        source: a flagfile in ``experiments/`` (``*.flags``), or "dcgan64": the DCGAN
            paper's nets on 64 px RGB images (``DCGAN64``).
        synthetic: feed one random batch of the run's shape (``synthetic_images``),
            so that the time is the step's alone; otherwise the Config's dataset.
        overrides: fields set on the source's; with synthetic input the dataset only
            picks the DCGAN nets.
    """

    source: str
    synthetic: bool
    overrides: dict = dataclasses.field(default_factory=dict)

    def config(self) -> Config:
        """The base's Config (a flagfile is read on each call)."""
        if self.source.endswith(".flags"):
            return flagfile_config(self.source, **self.overrides)
        return Config(workdir=_UNUSED_WORKDIR, **{**DCGAN64, **self.overrides})


# The DCGAN paper's nets (latent 100, base widths 64) on 64 px RGB, batch 64.
DCGAN64 = {
    "dataset": "glyphs",
    "image_size": 64,
    "channels": 3,
    "batch_size": 64,
    "g_base_width": 64,
    "d_base_width": 64,
}
_GLYPH_NETS = {"dataset": "glyphs"}  # a CelebA flagfile's nets, without its folder
BASES = {
    "dcgan64": Base("dcgan64", synthetic=True),
    # The S4 flagfile (clipping 0.01, RMSprop, n_critic 5) with the WGAN-GP critic's
    # layer norm in place of its batch norm: the two critic updates then differ by the
    # penalty alone (and the optimizer, a few element-wise ops per weight).
    "wgan_clip64": Base("celeba_wgan_clip.flags", True, {**_GLYPH_NETS, "d_norm": "layer"}),
    # Its WGAN-GP successor: layer-norm critic (the penalty refuses batch norm), Adam.
    "wgan_gp64": Base("celeba.flags", True, _GLYPH_NETS),
    "quickstart32": Base("quickstart.flags", synthetic=False),
    "ring2d": Base("ring2d.flags", synthetic=False),
}
# How a case steps. train_step: ``trainer.train_step(iterator)``, one step a call, as a
# run with --steps_per_loop=1; train_loop: ``train_step(iterator, n)``, n steps a call;
# critic / generator: one ``discriminator_update`` / ``generator_update`` a call on a
# fixed batch; keras / plain: the baselines.
KINDS = ("train_step", "train_loop", "critic", "generator", "keras", "plain")


@dataclasses.dataclass(frozen=True)
class Case:
    """One thing to time.

    Attributes:
        name: its name in ``--cases``, the table and the JSON.
        summary: what it is, in a few words.
        base: a key of ``BASES``.
        kind: one of ``KINDS``.
        overrides: Config fields set on the base's.
        window_steps: steps (or updates) per timed window by default; calls per window
            are this over the steps a call takes, rounded up to a multiple of
            ``call_multiple``.
        steps_per_call: steps one call takes (the loop's n).
        call_multiple: with a lazy penalty, its period: every window then averages
            over whole periods.
        warmup_calls: untimed calls before the windows; the first traces.
    """

    name: str
    summary: str
    base: str
    kind: str
    overrides: dict = dataclasses.field(default_factory=dict)
    window_steps: int = 2
    steps_per_call: int = 1
    call_multiple: int = 1
    warmup_calls: int = 2

    def calls_per_window(self, window_steps: int | None = None) -> int:
        """Calls per timed window for ``window_steps`` steps (None: the case's default)."""
        calls = max(1, math.ceil((window_steps or self.window_steps) / self.steps_per_call))
        return math.ceil(calls / self.call_multiple) * self.call_multiple


_DCGAN64 = "DCGAN-64 NS"
_LOOP = 100  # the ring2d loop's --steps_per_loop
CASES = {
    c.name: c
    for c in (
        Case("dcgan64", f"{_DCGAN64}, updates=alternating (default)", "dcgan64", "train_step"),
        Case(
            "dcgan64_reuse_fakes",
            f"{_DCGAN64}, updates=reuse_fakes",
            "dcgan64",
            "train_step",
            {"updates": "reuse_fakes"},
        ),
        Case(
            "dcgan64_simultaneous",
            f"{_DCGAN64}, updates=simultaneous",
            "dcgan64",
            "train_step",
            {"updates": "simultaneous"},
        ),
        Case(
            "dcgan64_jit",
            f"{_DCGAN64}, jit_compile",
            "dcgan64",
            "train_step",
            {"jit_compile": True},
        ),
        Case(
            "dcgan64_bf16",
            f"{_DCGAN64}, mixed_bfloat16",
            "dcgan64",
            "train_step",
            {"precision": "mixed_bfloat16"},
        ),
        Case(
            "dcgan64_simultaneous_bf16",
            f"{_DCGAN64}, updates=simultaneous, mixed_bfloat16",
            "dcgan64",
            "train_step",
            {"updates": "simultaneous", "precision": "mixed_bfloat16"},
        ),
        Case("keras_train_on_batch", f"{_DCGAN64}, Keras train_on_batch loop", "dcgan64", "keras"),
        Case("plain_tf_function", f"{_DCGAN64}, plain tf.function step", "dcgan64", "plain"),
        Case("wgan_clip_critic", "WGAN-clip 64 critic update", "wgan_clip64", "critic"),
        Case("wgan_clip_generator", "WGAN-clip 64 G update", "wgan_clip64", "generator"),
        Case("wgan_gp_critic", "WGAN-GP 64 critic update", "wgan_gp64", "critic"),
        Case("wgan_gp_generator", "WGAN-GP 64 G update", "wgan_gp64", "generator"),
        Case(
            "wgan_gp_lazy4_critic",
            "WGAN-GP 64 critic, penalty every 4th",
            "wgan_gp64",
            "critic",
            {"penalty_every": 4},
            window_steps=4,
            call_multiple=4,
        ),
        Case(
            "quickstart32",
            "quickstart 32 px, glyphs",
            "quickstart32",
            "train_step",
            window_steps=20,
        ),
        Case("ring2d", "ring2d MLP, 1 step/call", "ring2d", "train_step", window_steps=50),
        Case(
            "ring2d_loop100",
            f"ring2d MLP, steps_per_loop={_LOOP}",
            "ring2d",
            "train_loop",
            window_steps=_LOOP,
            steps_per_call=_LOOP,
            warmup_calls=1,  # the first call runs 100 steps after tracing
        ),
    )
}


def missing_fields(case: Case) -> list[str]:
    """The fields ``case`` overrides that ``Config`` does not have (not merged yet)."""
    known = {f.name for f in dataclasses.fields(Config)}
    return [name for name in case.overrides if name not in known]


def case_config(case: Case) -> Config:
    """The Config ``case`` runs: its base's with the overrides."""
    return dataclasses.replace(BASES[case.base].config(), **case.overrides)


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A built case, ready to call.

    Attributes:
        call: one call (``steps_per_call`` steps); returns once its result is read back.
        traces: the compiled function's trace count; None where Keras owns it.
        flops_per_step: FLOPs one step must compute (``hardware.step_flops``); None where
            not counted (a critic update alone, n_critic > 1, penalties).
    """

    call: Callable[[], None]
    traces: Callable[[], int | None]
    flops_per_step: int | None


def _passes(case: Case, config: Config) -> str | None:
    """The ``hardware.STEP_PASSES`` key of a full step of ``case``, if counted."""
    if case.kind == "keras":
        return "keras_train_on_batch"
    if case.kind == "plain":
        return "plain_tf_function"
    counted = config.n_critic == 1 and config.loss != "wgan-gp" and config.penalty == "none"
    if case.kind in ("train_step", "train_loop") and counted:
        return getattr(config, "updates", "alternating")
    return None


def prepare(case: Case) -> Prepared:
    """Builds ``case``'s networks (seeded as ``dcgan.run.prepare`` does) and its callable."""
    import keras

    from dcgan.run import builder

    config = case_config(case)
    iterator = iter(case_dataset(config, synthetic=BASES[case.base].synthetic))
    keras.utils.set_random_seed(config.seed)
    if case.kind == "keras":
        loop = baselines.KerasTrainOnBatch(config)
        networks = (loop.generator, loop.discriminator)

        def call():
            loop.step(next(iterator))  # reads its losses back as floats

        traces = _keras_owned
    elif case.kind == "plain":
        networks = builder.build_networks(config)
        function = baselines.plain_step(config, *networks)

        def call():
            float(function(next(iterator))["g_loss"])

        traces = function.experimental_get_tracing_count
    else:
        trainer = builder.build_trainer(config)
        networks = (trainer.generator, trainer.discriminator)
        call, traces = _trainer_call(case, trainer, iterator)
    passes = _passes(case, config)
    flops = None
    if passes is not None:
        g, d = (hardware.net_flops(net) for net in networks)
        flops = hardware.step_flops(g, d, batch=config.batch_size, passes=passes)
    return Prepared(call, traces, flops)


def synthetic_images(config: Config):
    """One random batch in [-1, 1] of the run's static shape, repeated and prefetched."""
    # One batch reused costs no input time, and the step's cost ignores pixel values.
    import tensorflow as tf

    shape = [config.batch_size, config.image_size, config.image_size, config.channels]
    batch = tf.random.stateless_uniform(shape, seed=[config.seed, 0], minval=-1.0, maxval=1.0)
    return tf.data.Dataset.from_tensors(batch).repeat().prefetch(tf.data.AUTOTUNE)


def case_dataset(config: Config, *, synthetic: bool):
    """The batches a case trains on: synthetic images, or its Config's dataset."""
    from dcgan.run import builder

    if synthetic:
        return synthetic_images(config)
    return builder.build_dataset(config, batch_size=config.batch_size)


def _keras_owned() -> None:
    return None  # Keras's train functions are closures inside the model: not counted


def _trainer_call(case: Case, trainer, iterator):
    """(call, trace count) of a trainer case: the compiled step, or one update wrapped."""
    import tensorflow as tf

    if case.kind in ("train_step", "train_loop"):
        function = trainer.train_step
        # A tensor, as dcgan.run.loop passes it: every count runs the same trace.
        args = () if case.kind == "train_step" else (tf.constant(case.steps_per_call, tf.int64),)

        def call():
            float(function(iterator, *args)["g_loss"])

    elif case.kind == "critic":
        function = tf.function(trainer.discriminator_update, autograph=False)
        real = next(iterator)  # one fixed batch: the update's cost alone
        numbers = itertools.count()  # a lazy penalty runs when its period divides this

        def call():
            float(function(real, tf.constant(next(numbers), tf.int64))["d_loss"])

    else:
        function = tf.function(trainer.generator_update, autograph=False)
        real = next(iterator)

        def call():
            float(function(real)["g_loss"])

    return call, function.experimental_get_tracing_count
