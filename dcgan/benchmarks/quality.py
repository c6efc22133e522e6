r"""The glyph recipes against the recipes people copy, at equal wall time.

    python -m dcgan.benchmarks.quality         # make bench-quality, ~1 h 20 min on 2 cores
    python -m dcgan.benchmarks.quality --recipes=quickstart --seeds=0 --peers=pytorch_dcgan

Trains each ``dcgan`` recipe (``experiments/<name>.flags``) once per ``--seeds`` seed in a
child process, as a user runs it, and reads its evaluations from ``metrics.jsonl`` with
the seconds it had trained at each (``train_seconds``: evaluations, samples, summaries
and checkpoints not counted). Then it trains each peer recipe (``peers``) on the same
data pipeline for as long as the longest unconditional recipe trained, evaluating it at
each such recipe's training time (equal wall time) and at quarters of the longest, with
the evaluator of the recipes' runs: the glyph classifier that ships with the package,
the same real examples and ``--eval_samples`` samples. Nothing else runs meanwhile, so
the clocks compare.

Prints Markdown tables (the recipes' mean and standard deviation over the seeds; the
peers at each recipe's time) and the targets, PASS or MISS:

- ``quickstart``: the whole run (evaluations included) within 5 minutes, FID within 15x
  the real-vs-real floor, every class covered, no mode-collapse alarm;
- ``glyphs_best``: the whole run within 10 minutes, FID within 8x the floor, precision
  and recall at least 0.5;
- ``glyphs_conditional``: the quickstart's 5 minutes, and at least 90 % of the samples
  the class they were asked for (``conditional_accuracy`` in the shipped classifier);
- every peer, at each unconditional recipe's training time: an FID at least 3x the
  recipe's mean. The peers take no labels, so a conditional recipe is measured alone.

Writes a JSON report, a plot of FID against training seconds (``--plot``) and 8x8
sample grids of every run at each recipe's time (``--grids``).
"""

from __future__ import annotations

import copy
import dataclasses
import glob
import json
import os
import shutil
import time

import numpy as np
from absl import app, flags

from dcgan import cli
from dcgan.benchmarks import curves
from dcgan.benchmarks.quality_report import peer_table, plot, recipe_table, write_grid

_PROGRAM = "dcgan.benchmarks.quality"
RECIPES = ("quickstart", "glyphs_best", "glyphs_conditional")
# The names of ``peers.PEERS`` (a test keeps them equal), so that a bad flag is refused
# before TensorFlow loads.
PEERS = ("tf_tutorial", "keras_io_dcgan", "keras_io_wgan_gp", "pytorch_dcgan")
COLUMNS = (
    "fid",
    "kid",
    "precision",
    "recall",
    "coverage",
    "classes_covered",
    "conditional_accuracy",
)
# A peer's FID must be this many times the recipe's at the recipe's wall time.
PEER_FACTOR = 3.0
_ALARM = "mode collapse?"  # how dcgan.train's log announces the alarm


@dataclasses.dataclass(frozen=True)
class Target:
    """What a recipe must reach at its last evaluation (the mean over seeds)."""

    max_seconds: float  # the whole run, from the command to its exit
    max_floor_ratio: float | None = None  # FID / the real-vs-real floor; None: no bound
    min_precision: float = 0.0
    min_recall: float = 0.0
    min_conditional_accuracy: float = 0.0
    all_classes: bool = False
    no_alarm: bool = False


TARGETS = {
    "quickstart": Target(300.0, 15.0, all_classes=True, no_alarm=True),
    "glyphs_best": Target(600.0, 8.0, min_precision=0.5, min_recall=0.5),
    # The classifier is right on 94 % of held-out real glyphs.
    "glyphs_conditional": Target(300.0, min_conditional_accuracy=0.9),
}


def _define_flags() -> None:
    flags.DEFINE_list("recipes", list(RECIPES), "Flagfile names under experiments/.")
    flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds of every recipe's runs.")
    flags.DEFINE_list("peers", list(PEERS), f"Peer recipes: {', '.join(PEERS)}.")
    flags.DEFINE_integer("peer_seed", 0, "Seed of the peers' runs.")
    flags.DEFINE_integer(
        "eval_samples", 5000, "Samples per evaluation (the floor: at most 5,952).", lower_bound=6
    )
    flags.DEFINE_string("workdir_root", "runs/bench_quality", "Runs go to <root>/<recipe>/.")
    flags.DEFINE_string("output", "bench_quality.json", "JSON report.")
    flags.DEFINE_string("plot", "bench_quality.png", "PNG of FID against training seconds.")
    flags.DEFINE_string("grids", "bench_quality_grids", "Folder of the sample grids.")


def read_run(workdir: str) -> dict:
    """A finished run's evaluations (``[{step, train_seconds, metric: value}]``) from
    ``metrics.jsonl``, whether its log raised the collapse alarm, and its last grid."""
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        records = [json.loads(line) for line in f if line.strip()]
    evaluations = [
        {k: v for k, v in r.items() if k not in ("kind", "time", "elapsed")}
        for r in records
        if r["kind"] == "eval"
    ]
    if not evaluations:
        raise RuntimeError(f"{workdir} holds no evaluations: its flagfile needs --eval_every")
    with open(os.path.join(workdir, "log.txt")) as f:
        alarm = any(_ALARM in line for line in f)
    grids = sorted(glob.glob(os.path.join(workdir, "samples", "step_*.png")))
    return {"evaluations": evaluations, "alarm": alarm, "grid": grids[-1] if grids else None}


def summarize(runs: dict[int, dict]) -> dict:
    """Mean and standard deviation over seeds of the last evaluation's ``COLUMNS`` and
    ``train_seconds``, and of the whole run's ``seconds``."""
    lasts = [run["evaluations"][-1] for run in runs.values()]
    summary = {}
    for name in (*COLUMNS, "train_seconds"):
        values = [last[name] for last in lasts if last.get(name) is not None]
        if values:
            summary[name] = {"mean": float(np.mean(values)), "std": float(np.std(values))}
    seconds = [run["seconds"] for run in runs.values()]
    summary["seconds"] = {"mean": float(np.mean(seconds)), "std": float(np.std(seconds))}
    summary["alarm"] = any(run["alarm"] for run in runs.values())
    return summary


def check_target(name: str, summary: dict, floor_fid: float) -> dict:
    """The recipe's own target (``TARGETS``) against its summary: each part and status."""
    target = TARGETS[name]
    mean = {k: v["mean"] for k, v in summary.items() if isinstance(v, dict)}
    ratio = mean["fid"] / floor_fid
    parts = {f"run <= {target.max_seconds:.0f} s": mean["seconds"] <= target.max_seconds}
    if target.max_floor_ratio is not None:
        parts[f"FID <= {target.max_floor_ratio:g}x floor"] = ratio <= target.max_floor_ratio
    if target.min_precision:
        parts[f"precision >= {target.min_precision:g}"] = mean["precision"] >= target.min_precision
    if target.min_recall:
        parts[f"recall >= {target.min_recall:g}"] = mean["recall"] >= target.min_recall
    if target.min_conditional_accuracy:
        accuracy = mean.get("conditional_accuracy", 0.0)
        parts[f"conditional accuracy >= {target.min_conditional_accuracy:g}"] = (
            accuracy >= target.min_conditional_accuracy
        )
    if target.all_classes:
        parts["every class covered"] = mean.get("classes_covered") == 1.0
    if target.no_alarm:
        parts["no collapse alarm"] = not summary["alarm"]
    return {
        "fid_over_floor": ratio,
        "parts": {part: "PASS" if met else "MISS" for part, met in parts.items()},
        "status": "PASS" if all(parts.values()) else "MISS",
    }


def at_time(evaluations: list[dict], seconds: float) -> dict:
    """The first of a peer's ``evaluations`` taken at ``seconds`` of training or later."""
    for evaluation in evaluations:
        if evaluation["train_seconds"] >= seconds:
            return evaluation
    raise ValueError(f"no evaluation at {seconds:.1f} s or later")


def compare(recipe_fid: float, peer_fid: float) -> dict:
    """A peer's FID over the recipe's, PASS if at least ``PEER_FACTOR``."""
    ratio = peer_fid / recipe_fid
    return {"ratio": ratio, "status": "PASS" if ratio >= PEER_FACTOR else "MISS"}


def peer_times(budgets: list[float]) -> list[float]:
    """When a peer is evaluated: at each recipe's budget and at quarters of the longest."""
    longest = max(budgets)
    return sorted({*budgets, *(longest * k / 4 for k in (1, 2, 3))})


def peer_budgets(summaries: dict[str, dict], configs: dict) -> dict[str, float]:
    """The mean training seconds of each unconditional recipe: the times the peers, which
    take no labels, are compared at. A conditional recipe is measured alone."""
    return {
        name: summary["train_seconds"]["mean"]
        for name, summary in summaries.items()
        if configs[name].conditioning == "none"
    }


def train_peer(name: str, config, times: list[float], *, seed: int, measure):
    """Trains the peer recipe ``name`` on ``config``'s data, evaluated at each of
    ``times`` (seconds of training) by ``measure``, ``config``'s evaluator, with the
    peer's noise. Returns the evaluations and, at each time, 64 samples of a fixed
    noise."""
    from dcgan.benchmarks import peers
    from dcgan.benchmarks.peer_run import PeerRun
    from dcgan.evaluation import evaluator
    from dcgan.run import builder

    peer = peers.PEERS[name]
    run = PeerRun(peer, image_size=config.image_size, channels=config.channels, seed=seed)
    # The real features, computed once, are shared; only the noise is the peer's.
    measure = copy.copy(measure)
    measure.noise = run.noise
    batches = iter(builder.build_dataset(config, batch_size=peer.batch_size))
    evaluations, grids = [], {}
    for seconds in times:
        run.train(batches, until_seconds=seconds)
        result = measure(run.generator)
        values = {k: v for k, v in result.items() if isinstance(v, (int, float))}
        evaluations.append({"train_seconds": run.seconds, "steps": run.steps, **values})
        samples_now = evaluator.generate(run.generator, run.noise, num_samples=64, seed=0)
        grids[seconds] = samples_now
    return evaluations, grids


def main(argv: list[str]) -> None:
    cli.check_no_arguments(_PROGRAM, argv)
    FLAGS = flags.FLAGS
    for recipe in FLAGS.recipes:
        if not os.path.isfile(curves.flagfile(recipe)):
            cli.fail(
                _PROGRAM,
                f"--recipes: no flagfile {curves.flagfile(recipe)}; allowed: names of "
                f"experiments/*.flags (e.g. {', '.join(RECIPES)})",
                cli.USAGE_ERROR,
            )
    unknown = [p for p in FLAGS.peers if p not in PEERS]
    if unknown:
        cli.fail(
            _PROGRAM,
            f"--peers={unknown[0]} is unknown; allowed: {', '.join(PEERS)}",
            cli.USAGE_ERROR,
        )
    try:
        seeds = [int(s) for s in FLAGS.seeds]
    except ValueError:
        cli.fail(_PROGRAM, f"--seeds={','.join(FLAGS.seeds)}: allowed: integers", cli.USAGE_ERROR)
    if not seeds or not FLAGS.recipes:
        cli.fail(_PROGRAM, "--recipes and --seeds need one value at least", cli.USAGE_ERROR)
    cli.check_output_file(_PROGRAM, FLAGS.output, (".json",))
    cli.check_output_file(_PROGRAM, FLAGS.plot, (".png",), flag="plot")
    if os.path.exists(FLAGS.workdir_root):  # a resumed run would not evaluate its step 0
        cli.fail(
            _PROGRAM,
            f"{FLAGS.workdir_root} exists: remove it or pick another --workdir_root",
            cli.USAGE_ERROR,
        )
    cli.quiet_tensorflow()
    from dcgan.benchmarks import peers
    from dcgan.config.core import Config
    from dcgan.evaluation import features

    try:
        floor_fid = curves.floor(FLAGS.eval_samples)["fid"]
    except features.EvaluationError as e:
        cli.fail(_PROGRAM, e, cli.INPUT_ERROR)
    print(f"real vs real: fid={floor_fid:.4g}", flush=True)
    os.makedirs(FLAGS.grids, exist_ok=True)

    recipes: dict[str, dict[int, dict]] = {}
    for recipe in FLAGS.recipes:
        name = curves.experiment_name(recipe)
        recipes[name] = {}
        for seed in seeds:
            workdir = os.path.join(FLAGS.workdir_root, name, f"seed{seed}")
            extra = [f"--seed={seed}", f"--eval_samples={FLAGS.eval_samples}"]
            try:
                seconds = curves.train(recipe, workdir, extra=extra)
                run = read_run(workdir)
            except RuntimeError as e:
                cli.fail(_PROGRAM, e, cli.INPUT_ERROR)
            run["seconds"] = seconds
            recipes[name][seed] = run
            last = run["evaluations"][-1]
            print(f"{name} seed {seed}: {seconds:.0f} s; {json.dumps(last)}", flush=True)
            if seed == seeds[0] and run["grid"]:
                shutil.copy(run["grid"], os.path.join(FLAGS.grids, f"{name}.png"))
    summaries = {name: summarize(runs) for name, runs in recipes.items()}
    configs = {}
    for name in recipes:
        with open(os.path.join(FLAGS.workdir_root, name, f"seed{seeds[0]}", "config.json")) as f:
            configs[name] = Config.from_json(f.read())
    budgets = peer_budgets(summaries, configs)
    peers_to_train = FLAGS.peers if budgets else []
    if FLAGS.peers and not budgets:
        print("no unconditional recipe to compare the peers with: they are not trained")
    if peers_to_train:
        from dcgan.run import builder

        config = configs[next(iter(budgets))]
        measure = builder.build_evaluator(config, num_samples=FLAGS.eval_samples)
    peer_runs, comparisons = {}, []
    for name in peers_to_train:
        start = time.monotonic()
        evaluations, grids = train_peer(
            name, config, peer_times(list(budgets.values())), seed=FLAGS.peer_seed, measure=measure
        )
        peer_runs[name] = evaluations
        print(f"{name}: {time.monotonic() - start:.0f} s; {json.dumps(evaluations[-1])}")
        for recipe, budget in budgets.items():
            write_grid(os.path.join(FLAGS.grids, f"{name}_at_{recipe}.png"), grids[budget])
            evaluation = at_time(evaluations, budget)
            result = compare(summaries[recipe]["fid"]["mean"], evaluation["fid"])
            comparisons.append({"recipe": recipe, "peer": name, "evaluation": evaluation, **result})
    targets = {
        name: check_target(name, summary, floor_fid)
        for name, summary in summaries.items()
        if name in TARGETS
    }
    report = {
        "eval_samples": FLAGS.eval_samples,
        "real_vs_real_fid": floor_fid,
        "recipes": {
            name: {"runs": {str(s): run for s, run in runs.items()}, "summary": summaries[name]}
            for name, runs in recipes.items()
        },
        "peers": {
            name: {
                "title": peers.PEERS[name].title,
                "source": peers.PEERS[name].source,
                "batch_size": peers.PEERS[name].batch_size,
                "evaluations": peer_runs[name],
            }
            for name in peer_runs
        },
        "comparisons": comparisons,
        "targets": targets,
    }
    with open(FLAGS.output, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    references = {"real vs real": floor_fid}
    for name in recipes:
        factor = TARGETS[name].max_floor_ratio if name in TARGETS else None
        if factor is not None:
            references[f"{factor:g}x floor ({name})"] = factor * floor_fid
    plot(recipes, peer_runs, references, FLAGS.plot)
    print(recipe_table(summaries, floor_fid, COLUMNS[1:]))
    if comparisons:
        print(peer_table(comparisons, floor_fid))
    for name, result in targets.items():
        parts = ", ".join(f"{part}: {status}" for part, status in result["parts"].items())
        print(f"{name} target ({result['fid_over_floor']:.1f}x floor): {parts}: {result['status']}")
    print(f"wrote {FLAGS.output}, {FLAGS.plot} and {FLAGS.grids}/", flush=True)


if __name__ == "__main__":
    _define_flags()
    app.run(main, flags_parser=cli.flags_parser(_PROGRAM))
