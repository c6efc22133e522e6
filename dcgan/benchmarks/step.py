r"""Times the compiled training step of a few fixed scenarios.

    python -m dcgan.benchmarks.step                       # every scenario, table on stdout
    python -m dcgan.benchmarks.step --scenarios=ring2d --steps=50 --output=bench.json

Each scenario is a ``Config`` built here, trained from fresh weights with no workdir
I/O. A scenario's first call (tracing plus one step) is timed on its own; the remaining
warmup calls are untimed; then ``--steps`` calls are timed. ``steps/s`` counts generator
updates; ``real ex/s`` = steps/s x batch x n_critic, the real examples D consumes.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import sys
import tempfile
import time

from absl import app, flags

from dcgan import cli
from dcgan.benchmarks import timing
from dcgan.config import Config

_PROGRAM = "dcgan.benchmarks.step"
_UNUSED_WORKDIR = tempfile.gettempdir()  # Config needs one; the bench writes nothing there


@dataclasses.dataclass(frozen=True)
class Scenario:
    """A named run to time; ``synthetic`` runs feed random images, not ``config.dataset``."""

    name: str
    config: Config  # with synthetic input, the dataset only picks the (DCGAN) nets
    synthetic: bool  # so that the time is the step's alone, without any input cost


def _scenario(name: str, synthetic: bool, **fields) -> Scenario:
    return Scenario(name, Config(workdir=_UNUSED_WORKDIR, **fields), synthetic)


_RGB64 = {"dataset": "glyphs", "image_size": 64, "channels": 3, "batch_size": 64}
# experiments/quickstart.flags, with base widths 32 and batch 64 (the Config default).
_QUICKSTART = {"dataset": "glyphs", "image_size": 32, "channels": 1, "latent_dim": 30}
SCENARIOS = {
    s.name: s
    for s in (
        # The DCGAN paper's net (latent 100 is the Config default).
        _scenario("dcgan64", True, **_RGB64, g_base_width=64, d_base_width=64),
        _scenario("dcgan32_glyphs", False, **_QUICKSTART, g_base_width=32, d_base_width=32),
        _scenario("wgan_gp64", True, **_RGB64, loss="wgan-gp", d_norm="layer", n_critic=5),
        _scenario("ring2d", False, dataset="ring2d", batch_size=256),
    )
}


def synthetic_images(config: Config):
    """One random batch in [-1, 1] of the run's static shape, repeated and prefetched."""
    # One batch reused costs no input time, and the step's cost ignores pixel values.
    import tensorflow as tf

    shape = [config.batch_size, config.image_size, config.image_size, config.channels]
    batch = tf.random.stateless_uniform(shape, seed=[config.seed, 0], minval=-1.0, maxval=1.0)
    return tf.data.Dataset.from_tensors(batch).repeat().prefetch(tf.data.AUTOTUNE)


def scenario_dataset(scenario: Scenario):
    """The batches a scenario trains on: synthetic images, or its Config's dataset."""
    from dcgan import data

    config = scenario.config
    if scenario.synthetic:
        return synthetic_images(config)
    return data.make_dataset(
        config.dataset,
        batch_size=config.batch_size,
        seed=config.seed,
        image_size=config.image_size,
        channels=config.channels,
    )


def measure(scenario: Scenario, *, steps: int, warmup: int) -> dict[str, object]:
    """Builds the scenario's trainer and times its ``train_step``.

    Args:
        scenario: what to run.
        steps: timed calls.
        warmup: untimed calls before them (>= 1); the first, which traces, is timed
            on its own as ``trace_first_step_s``.

    Returns:
        A JSON-ready record; ``tracing_count`` is 1 unless the step retraced.
    """
    import keras

    from dcgan.run import builder

    config = scenario.config
    dataset = scenario_dataset(scenario)
    keras.utils.set_random_seed(config.seed)  # as dcgan.prepare does: same initial weights
    trainer = builder.build_trainer(config)
    iterator = iter(dataset)

    def step() -> None:
        # Fetching a result waits for the step; otherwise async execution would let the
        # timer stop while the step still runs.
        float(trainer.train_step(iterator)["g_loss"])

    start = time.perf_counter()
    step()
    trace_first_step_s = time.perf_counter() - start
    for _ in range(warmup - 1):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    steps_per_s = steps / (time.perf_counter() - start)
    return {
        "scenario": scenario.name,
        "input": "synthetic" if scenario.synthetic else config.dataset,
        "batch_size": config.batch_size,
        "n_critic": config.n_critic,
        "steps": steps,
        "warmup": warmup,
        "trace_first_step_s": trace_first_step_s,
        "steps_per_s": steps_per_s,
        "real_examples_per_s": steps_per_s * config.batch_size * config.n_critic,
        "peak_rss_mib": timing.peak_rss_mib(),
        "tracing_count": trainer.train_step.experimental_get_tracing_count(),
    }


_COLUMNS = (  # (header, record key, format)
    ("scenario", "scenario", "{}"),
    ("input", "input", "{}"),
    ("batch", "batch_size", "{}"),
    ("n_critic", "n_critic", "{}"),
    ("trace+1st s", "trace_first_step_s", "{:.2f}"),
    ("steps/s", "steps_per_s", "{:.2f}"),
    ("real ex/s", "real_examples_per_s", "{:.0f}"),
    ("peak RSS MiB*", "peak_rss_mib", "{:.0f}"),
    ("traces", "tracing_count", "{}"),
)
_FOOTNOTE = (
    "steps/s: generator updates; real ex/s = steps/s x batch x n_critic.\n"
    "* ru_maxrss: the process-wide peak so far, including earlier scenarios."
)


def format_table(records: list[dict[str, object]]) -> str:
    """Renders records as a text table (names left, numbers right) and its footnote."""
    rows = [[h for h, _, _ in _COLUMNS]]
    rows += [[fmt.format(r[key]) for _, key, fmt in _COLUMNS] for r in records]
    return timing.render_table(rows, left=2) + "\n" + _FOOTNOTE


def _define_flags() -> None:
    # Defined only when run as a program: importing this module (the tests do) must not
    # claim names such as --output that dcgan.sample defines too.
    flags.DEFINE_list("scenarios", list(SCENARIOS), f"Scenarios to run: {', '.join(SCENARIOS)}.")
    flags.DEFINE_integer("steps", 20, "Timed steps per scenario.", lower_bound=1)
    flags.DEFINE_integer("warmup", 3, "Untimed steps first; the first traces.", lower_bound=1)
    flags.DEFINE_string("output", None, "Optional JSON file for the records.")


def check_selection(program: str, flag: str, names: list[str], valid) -> None:
    """Ends ``program`` with a usage error if ``--flag`` names nothing or an unknown name.

    Args:
        program: the program's name, for the error line.
        flag: the list flag, e.g. "scenarios"; its items name one thing each.
        names: the items given.
        valid: the names allowed, in the order the error lists them.
    """
    unknown = ", ".join(repr(name) for name in names if name not in valid)
    if unknown or not names:
        problem = f"unknown {flag[:-1]} {unknown}" if unknown else "none given"
        cli.fail(program, f"--{flag}: {problem}; valid: {','.join(valid)}", cli.USAGE_ERROR)


def main(argv: list[str]) -> None:
    cli.check_no_arguments(_PROGRAM, argv)
    names, output = flags.FLAGS.scenarios, flags.FLAGS.output
    check_selection(_PROGRAM, "scenarios", names, SCENARIOS)
    if output and not os.path.isdir(os.path.dirname(os.path.abspath(output))):
        cli.fail(_PROGRAM, f"--output={output}: its directory does not exist", cli.USAGE_ERROR)

    records = []
    for name in names:
        print(f"{_PROGRAM}: running {name}", file=sys.stderr, flush=True)  # stdout: table only
        records.append(measure(SCENARIOS[name], steps=flags.FLAGS.steps, warmup=flags.FLAGS.warmup))
    print(format_table(records), flush=True)
    if output:
        with open(output, "w") as f:
            json.dump({"platform": platform.platform(), "records": records}, f, indent=2)
            f.write("\n")
    retraced = [r["scenario"] for r in records if r["tracing_count"] != 1]
    if retraced:  # then the timings include tracing: fail, after reporting them
        cli.fail(_PROGRAM, f"train_step retraced in {', '.join(retraced)}; see 'traces'", 1)


if __name__ == "__main__":
    _define_flags()
    app.run(main, flags_parser=cli.flags_parser(_PROGRAM))
