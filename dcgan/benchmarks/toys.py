r"""Quality benchmark: the toy flagfiles over several seeds, against their targets.

    python -m dcgan.benchmarks.toys                              # 3 sets x 5 seeds
    python -m dcgan.benchmarks.toys --experiments=ring2d --seeds=0,1 --output=ring.json

    python -m dcgan.benchmarks.toys --experiments=ring2d_hinge,grid2d_pack2 --seeds=0,1,2

For each experiment and seed, trains ``experiments/<name>.flags`` with ``--seed`` in a
child process (``python -m dcgan.train``), then measures the **final** checkpoint with
``python -m dcgan.evaluate`` on ``--num_samples`` samples drawn with a seed the run never
evaluated with. Prints a Markdown table with one row per run and the targets of the
issue that set them: ring2d 8/8 and grid2d 25/25 modes with >= 97 % high-quality samples,
gaussian1d W1 <= 0.05, every seed. Exits 1 if a run misses its target. The variants
(``VARIANTS``: ring2d and grid2d with other objectives) are measured against their set's
target.

Each ring2d and grid2d row is also marked PASS or MISS against the goal of the results
issue: every mode, >= 98.0 % high-quality samples, and the run (its training process,
from start to exit, alone on the machine) within 10 minutes. A miss of the goal is
reported, not an error: ``ring2d.flags`` meets the goal, ``grid2d.flags`` its target only.
"""

from __future__ import annotations

import json
import os
import sys
import time

from absl import app, flags

from dcgan import cli

_PROGRAM = "dcgan.benchmarks.toys"
# The repository root: the flagfiles are read, and the children run, from there.
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Held-out noise: the runs' own evaluations use their --seed (0 to a few).
_EVAL_SEED = 12345
_TARGETS = {
    "ring2d": "8/8 modes, high quality >= 97 %",
    "grid2d": "25/25 modes, high quality >= 97 %",
    "gaussian1d": "W1 <= 0.05",
}
# The mode-coverage sets and their number of modes.
_MODES = {"ring2d": 8, "grid2d": 25}
# The results issue's tighter goal for the mode-coverage sets.
_GOALS = {
    "ring2d": "8/8 modes, high quality >= 98 %, run <= 10 min",
    "grid2d": "25/25 modes, high quality >= 98 %, run <= 10 min",
}
_GOAL_HIGH_QUALITY = 0.98
_GOAL_SECONDS = 600.0
# experiments/<set>_<variant>.flags: the set's flagfile with another objective.
VARIANTS = tuple(
    f"{toy}_{variant}" for toy in ("ring2d", "grid2d") for variant in ("hinge", "lsgan", "pack2")
)


def toy_set(experiment: str) -> str:
    """The toy set an experiment trains on: ``ring2d`` for ``ring2d_hinge``."""
    return experiment.split("_")[0]


def _define_flags() -> None:
    # Only when run as a program: the tests import this module beside other entry points.
    flags.DEFINE_list(
        "experiments",
        list(_TARGETS),
        f"Toy flagfiles to run: {', '.join(_TARGETS)}, or a variant: {', '.join(VARIANTS)}.",
    )
    flags.DEFINE_list("seeds", ["0", "1", "2", "3", "4"], "Seeds; one run per seed and experiment.")
    flags.DEFINE_string(
        "workdir_root", "runs/bench_toys", "Runs go to <root>/<experiment>-seed<s>."
    )
    flags.DEFINE_integer(
        "train_steps", 0, "Override the flagfiles' --train_steps (for a quick check); 0: theirs."
    )
    # A 97 % fraction measured on n samples has a standard error of 0.17 points at
    # n = 10,000 and 0.08 at 50,000, and the targets sit within that: grid2d seed 4 reads
    # 97.3 % on 10,000 samples and 96.97-97.01 % on four draws of 50,000.
    flags.DEFINE_integer("num_samples", 50_000, "Samples per evaluation.", lower_bound=2)
    flags.DEFINE_string("output", "bench_toys.json", "JSON file of every run's figures.")


def _every_mode(toy: str, metrics: dict) -> bool:
    return metrics["modes"] == _MODES[toy]


def meets_target(experiment: str, metrics: dict) -> bool:
    """Whether one run's final metrics meet the target of the experiment's toy set."""
    toy = toy_set(experiment)
    if toy in _MODES:
        return _every_mode(toy, metrics) and metrics["high_quality"] >= 0.97
    return metrics["w1"] <= 0.05


def meets_goal(experiment: str, metrics: dict, seconds: float) -> bool | None:
    """Whether one run meets the results issue's goal for its toy set (every mode,
    >= 98 % high-quality samples, <= 10 minutes); None for a set without one."""
    toy = toy_set(experiment)
    if toy not in _GOALS:
        return None
    return (
        _every_mode(toy, metrics)
        and metrics["high_quality"] >= _GOAL_HIGH_QUALITY
        and seconds <= _GOAL_SECONDS
    )


def run_one(experiment: str, seed: int, *, root: str, train_steps: int, num_samples: int):
    """Trains and evaluates one seed; returns its row of figures.

    Raises:
        RuntimeError: with the child's last stderr line if training or evaluation fails.
    """
    workdir = os.path.join(root, f"{experiment}-seed{seed}")
    train = [
        f"--flagfile={os.path.join(_ROOT, 'experiments', experiment + '.flags')}",
        f"--workdir={workdir}",
        f"--seed={seed}",
    ]
    if train_steps:
        train.append(f"--train_steps={train_steps}")
    start = time.monotonic()
    cli.run_child("dcgan.train", train, cwd=_ROOT)
    seconds = time.monotonic() - start
    output = os.path.join(workdir, "bench_eval.json")
    cli.run_child(
        "dcgan.evaluate",
        [
            f"--workdir={workdir}",
            f"--num_samples={num_samples}",
            f"--seed={_EVAL_SEED}",
            f"--output={output}",
        ],
        cwd=_ROOT,
    )
    with open(output) as f:
        record = json.load(f)
    return {
        "experiment": experiment,
        "seed": seed,
        "steps": record["step"],
        "train_seconds": round(seconds, 1),
        "metrics": record["metrics"],
        "meets_target": meets_target(experiment, record["metrics"]),
        "meets_goal": meets_goal(experiment, record["metrics"], seconds),
    }


def table(rows: list[dict]) -> str:
    """The rows as a Markdown table."""
    lines = [
        "| experiment | seed | steps | train time | modes | high quality | reverse KL | W1 | KS "
        "| target met | goal (98 %, 10 min) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        m = row["metrics"]
        modes = f"{m['modes']}" if "modes" in m else ""
        quality = f"{100 * m['high_quality']:.1f} %" if "high_quality" in m else ""
        kl = f"{m['reverse_kl']:.4f}" if "reverse_kl" in m else ""
        w1 = f"{m['w1']:.4f}" if "w1" in m else ""
        ks = f"{m['ks']:.4f}" if "ks" in m else ""
        goal = {True: "PASS", False: "MISS", None: ""}[row["meets_goal"]]
        lines.append(
            f"| {row['experiment']} | {row['seed']} | {row['steps']} | "
            f"{row['train_seconds']:.0f} s | {modes} | {quality} | {kl} | {w1} | {ks} | "
            f"{'yes' if row['meets_target'] else 'NO'} | {goal} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    cli.check_no_arguments(_PROGRAM, argv)
    FLAGS = flags.FLAGS
    unknown = [name for name in FLAGS.experiments if name not in (*_TARGETS, *VARIANTS)]
    if unknown:
        cli.fail(
            _PROGRAM,
            f"--experiments={','.join(FLAGS.experiments)}: {unknown} are not toy experiments; "
            f"allowed: {', '.join((*_TARGETS, *VARIANTS))}",
            cli.USAGE_ERROR,
        )
    try:
        seeds = [int(seed) for seed in FLAGS.seeds]
    except ValueError:
        seeds = [-1]
    if not seeds or min(seeds) < 0:
        cli.fail(
            _PROGRAM,
            f"--seeds={','.join(FLAGS.seeds)} is invalid; allowed: integers >= 0",
            cli.USAGE_ERROR,
        )
    cli.check_output_file(_PROGRAM, FLAGS.output, (".json",))
    if FLAGS.train_steps < 0:
        cli.fail(
            _PROGRAM,
            f"--train_steps={FLAGS.train_steps} is invalid; allowed: an integer >= 0",
            cli.USAGE_ERROR,
        )
    existing = [
        path
        for experiment in FLAGS.experiments
        for seed in seeds
        if os.path.exists(path := os.path.join(FLAGS.workdir_root, f"{experiment}-seed{seed}"))
    ]
    if existing:
        # A resumed run would report the time of its rest only.
        cli.fail(
            _PROGRAM,
            f"{existing[0]} exists: remove it or pick another --workdir_root",
            cli.USAGE_ERROR,
        )

    rows = []
    for experiment in FLAGS.experiments:
        for seed in seeds:
            try:
                row = run_one(
                    experiment,
                    seed,
                    root=FLAGS.workdir_root,
                    train_steps=FLAGS.train_steps,
                    num_samples=FLAGS.num_samples,
                )
            except RuntimeError as e:
                cli.fail(_PROGRAM, e, cli.INPUT_ERROR)
            print(json.dumps(row), flush=True)
            rows.append(row)
    with open(FLAGS.output, "w") as f:
        json.dump({"targets": _TARGETS, "goals": _GOALS, "runs": rows}, f, indent=2)
        f.write("\n")
    print(table(rows))
    goal_rows = [row for row in rows if row["meets_goal"] is not None]
    if goal_rows:
        missed_goal = [
            f"{row['experiment']} seed {row['seed']}" for row in goal_rows if not row["meets_goal"]
        ]
        verdict = (
            f"MISS on {', '.join(missed_goal)}"
            if missed_goal
            else f"PASS on all {len(goal_rows)} runs"
        )
        print(f"goal (every mode, >= 98 % high quality, <= 10 min a run): {verdict}")
    missed = [f"{row['experiment']} seed {row['seed']}" for row in rows if not row["meets_target"]]
    if missed:
        print(f"missed the target: {', '.join(missed)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    _define_flags()
    app.run(main, flags_parser=cli.flags_parser(_PROGRAM))
