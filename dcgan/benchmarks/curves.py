r"""Quality over training of the glyph flagfiles, measured offline: FID curves and floor.

    python -m dcgan.benchmarks.curves          # quickstart + glyphs32, ~25 min on 2 cores
    python -m dcgan.benchmarks.curves --experiments=quickstart --train_steps=1000

Trains each flagfile (``experiments/<name>.flags``, or a path to a ``.flags`` file) in a
child process that evaluates in its loop every ``--eval_every`` steps, from step 0, on
``--eval_samples`` samples with the glyph classifier that ships with the package. The
metrics are read back from the runs' TensorBoard events. The floor is the same
evaluation between two disjoint halves of the real glyph set (``--eval_samples`` each,
at most 5,952, half the set), so run and floor share the feature space and, up to that
size, the sample counts. Writes a JSON report, prints a Markdown table, checks the
quickstart's target (FID at the last step within 2x the floor with every class
covered), and draws FID and classes covered against steps (``--plot``). With
``--sensitivity`` it first measures the floor's second half blurred, noisy, shifted by a
pixel and dimmed: how far the feature space moves for errors of look rather than of
content.
"""

from __future__ import annotations

import glob
import json
import os
import time

import numpy as np
from absl import app, flags

from dcgan import cli

_PROGRAM = "dcgan.benchmarks.curves"
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXPERIMENTS = ("quickstart", "glyphs32")
# The columns of the table, in order; every one is an eval/ scalar of the runs.
COLUMNS = ("fid", "kid", "precision", "recall", "density", "coverage", "classes_covered")
# The quickstart's target: FID within this factor of the floor, every class covered.
FLOOR_FACTOR = 2.0


def _define_flags() -> None:
    flags.DEFINE_list(
        "experiments", list(EXPERIMENTS), "Flagfile names under experiments/, or .flags paths."
    )
    flags.DEFINE_string("workdir_root", "runs/bench_curves", "Runs go to <root>/<experiment>.")
    flags.DEFINE_integer("train_steps", 0, "Override the flagfiles' --train_steps; 0: theirs.")
    flags.DEFINE_integer("eval_every", 1000, "Steps between evaluations.", lower_bound=1)
    flags.DEFINE_integer(
        "eval_samples", 5000, "Samples per evaluation (the floor: at most 5,952).", lower_bound=6
    )
    flags.DEFINE_boolean(
        "sensitivity", True, "Also measure real glyphs blurred, noisy, shifted, dimmed."
    )
    flags.DEFINE_list("extra_flags", [], "More dcgan.train flags for every run (--name=value).")
    flags.DEFINE_string("output", "bench_curves.json", "JSON report.")
    flags.DEFINE_string("plot", "bench_curves.png", "PNG of FID and classes covered by step.")


def flagfile(experiment: str) -> str:
    """The flagfile of ``experiment``: a name under experiments/ or a path."""
    if experiment.endswith(".flags"):
        return experiment
    return os.path.join(_ROOT, "experiments", experiment + ".flags")


def experiment_name(experiment: str) -> str:
    return os.path.splitext(os.path.basename(experiment))[0]


def train(experiment: str, workdir: str, *, extra: list[str]) -> float:
    """Trains ``experiment`` into ``workdir`` in a child process; returns its seconds.

    Raises:
        RuntimeError: with the child's last stderr line if training fails.
    """
    args = [f"--flagfile={flagfile(experiment)}", f"--workdir={workdir}", *extra]
    start = time.monotonic()
    cli.run_child("dcgan.train", args, cwd=_ROOT)
    return time.monotonic() - start


def read_evaluations(workdir: str) -> dict[int, dict[str, float]]:
    """``{step: {metric: value}}`` of the ``eval/`` scalars in ``workdir``'s events."""
    import tensorflow as tf

    found: dict[int, dict[str, float]] = {}
    for path in sorted(glob.glob(os.path.join(workdir, "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if not value.tag.startswith("eval/") or not value.HasField("tensor"):
                    continue
                array = tf.make_ndarray(value.tensor)
                if array.ndim == 0 and np.issubdtype(array.dtype, np.number):
                    found.setdefault(event.step, {})[value.tag[len("eval/") :]] = float(array)
    return dict(sorted(found.items()))


def halves(num_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint sets of ``num_samples`` 32 px glyphs in [-1, 1] (at most half the
    set, 5,952, each): the starts of the set's two halves. Image i shows character
    i % 62, so each holds every class once it has 62 images or more."""
    from dcgan import data

    images = data.render_glyphs(image_size=32).astype(np.float32) / 127.5 - 1.0
    half = len(images) // 2
    count = min(num_samples, half)
    return images[:count], images[half : half + count]


def floor(num_samples: int) -> dict:
    """The metrics between ``halves(num_samples)`` in the shipped classifier's features."""
    from dcgan.evaluation import evaluator, features

    first, second = halves(num_samples)
    extractor = features.make_extractor(classifier="", layer="", dataset="glyphs")
    result = evaluator.image_metrics(first, second, extractor)
    result.pop("fake_class_counts", None)
    return {**result, "extractor": extractor.description}


#: Real glyphs changed the way generated ones tend to differ, against the floor.
PERTURBATIONS = (
    "blur 0.5 px", "blur 1 px", "noise 0.1", "noise 0.3", "shifted 1 px", "dimmed to 0.8",
)  # fmt: skip


def perturbed(images: np.ndarray, name: str, *, seed: int = 0) -> np.ndarray:
    """``images`` in [-1, 1] changed by ``PERTURBATIONS[name]``: a Gaussian blur of that
    standard deviation, Gaussian noise of that standard deviation, every image moved one
    pixel right (black entering on the left), or the intensity above black scaled down."""
    from dcgan.evaluation import classifiers

    if name.startswith("blur"):
        sigma = float(name.split()[1])
        return classifiers.gaussian_blur(images, sigma).numpy()
    if name.startswith("noise"):
        noise = np.random.default_rng(seed).normal(0, float(name.split()[1]), images.shape)
        return np.clip(images + noise, -1, 1).astype(np.float32)
    if name == "shifted 1 px":  # right by a column; black comes in on the left
        return np.pad(images, [(0, 0), (0, 0), (1, 0), (0, 0)], constant_values=-1)[:, :, :-1]
    if name == "dimmed to 0.8":
        return (images + 1) * 0.8 - 1
    raise ValueError(f"perturbation {name!r} is unknown; allowed: {', '.join(PERTURBATIONS)}")


def sensitivity(num_samples: int) -> dict[str, dict]:
    """The floor's comparison again with the second half perturbed (``perturbed``): how
    far the feature space moves for errors of look rather than of content."""
    from dcgan.evaluation import evaluator, features

    first, second = halves(num_samples)
    extractor = features.make_extractor(classifier="", layer="", dataset="glyphs")
    results = {}
    for name in PERTURBATIONS:
        result = evaluator.image_metrics(first, perturbed(second, name), extractor)
        result.pop("fake_class_counts", None)
        results[name] = result
    return results


def table(runs: dict[str, dict[int, dict[str, float]]], reference: dict) -> str:
    """Every evaluation as a Markdown row, then the floor."""
    lines = [
        "| run | step | " + " | ".join(COLUMNS) + " |",
        "|---|---|" + "---|" * len(COLUMNS),
    ]
    for name, evaluations in runs.items():
        for step, values in evaluations.items():
            cells = " | ".join(_cell(values.get(column)) for column in COLUMNS)
            lines.append(f"| {name} | {step} | {cells} |")
    cells = " | ".join(_cell(reference.get(column)) for column in COLUMNS)
    lines.append(f"| real vs real (two halves) | | {cells} |")
    return "\n".join(lines)


def sensitivity_table(results: dict[str, dict], reference: dict) -> str:
    """The perturbed halves as Markdown rows: FID, its ratio to the floor, and more."""
    lines = [
        "| second half | FID | x floor | precision | recall | coverage |",
        "|---|---|---|---|---|---|",
        f"| as it is (the floor) | {reference['fid']:.1f} | 1.0 | {reference['precision']:.3f} "
        f"| {reference['recall']:.3f} | {reference['coverage']:.3f} |",
    ]
    for name, result in results.items():
        lines.append(
            f"| {name} | {result['fid']:.1f} | {result['fid'] / reference['fid']:.1f} | "
            f"{result['precision']:.3f} | {result['recall']:.3f} | {result['coverage']:.3f} |"
        )
    return "\n".join(lines)


def _cell(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def target(evaluations: dict[int, dict[str, float]], reference: dict) -> dict:
    """The quickstart's target at the last evaluation: FID <= 2x floor, all classes."""
    step, last = max(evaluations.items())
    ratio = last["fid"] / reference["fid"]
    met = ratio <= FLOOR_FACTOR and last.get("classes_covered") == 1.0
    return {
        "step": step,
        "fid_over_floor": ratio,
        "classes_covered": last.get("classes_covered"),
        "status": "PASS" if met else "MISS",
    }


def plot(runs: dict[str, dict[int, dict[str, float]]], reference: dict, path: str) -> None:
    """FID (log scale) and classes covered against steps, with the floor, as a PNG."""
    import imageio.v3 as iio

    from dcgan.io import plots

    def curves(metric: str) -> dict:
        return {
            name: (
                [s for s in ev if metric in ev[s]],
                [ev[s][metric] for s in ev if metric in ev[s]],
            )
            for name, ev in runs.items()
        }

    figure = plots.curves_figure(
        [
            (
                "FID (glyph classifier features)",
                curves("fid"),
                {
                    "real vs real": reference["fid"],
                    f"{FLOOR_FACTOR:g}x real vs real": FLOOR_FACTOR * reference["fid"],
                },
            ),
            ("classes covered", curves("classes_covered"), {}),
        ],
        title="glyph runs, evaluated offline every --eval_every steps",
    )
    figure.axes[0].set_yscale("log")
    iio.imwrite(path, plots.render(figure))


def main(argv: list[str]) -> None:
    cli.check_no_arguments(_PROGRAM, argv)
    FLAGS = flags.FLAGS
    missing = [e for e in FLAGS.experiments if not os.path.isfile(flagfile(e))]
    if missing:
        cli.fail(
            _PROGRAM,
            f"--experiments: no flagfile {flagfile(missing[0])}; allowed: names of "
            f"experiments/*.flags (e.g. {', '.join(EXPERIMENTS)}) or paths to .flags files",
            cli.USAGE_ERROR,
        )
    cli.check_output_file(_PROGRAM, FLAGS.output, (".json",))
    cli.check_output_file(_PROGRAM, FLAGS.plot, (".png",), flag="plot")
    workdirs = {
        experiment_name(e): os.path.join(FLAGS.workdir_root, experiment_name(e))
        for e in FLAGS.experiments
    }
    existing = [w for w in workdirs.values() if os.path.exists(w)]
    if existing:  # a resumed run would not evaluate its step 0 again
        cli.fail(
            _PROGRAM,
            f"{existing[0]} exists: remove it or pick another --workdir_root",
            cli.USAGE_ERROR,
        )
    cli.quiet_tensorflow()

    extra = [f"--eval_every={FLAGS.eval_every}", f"--eval_samples={FLAGS.eval_samples}"]
    if FLAGS.train_steps:
        extra.append(f"--train_steps={FLAGS.train_steps}")
    extra += FLAGS.extra_flags
    from dcgan.evaluation import features

    try:
        reference = floor(FLAGS.eval_samples)
    except features.EvaluationError as e:
        cli.fail(_PROGRAM, e, cli.INPUT_ERROR)
    print(f"real vs real: fid={reference['fid']:.4g} ({reference['extractor']})", flush=True)
    perturbations = sensitivity(FLAGS.eval_samples) if FLAGS.sensitivity else {}
    if perturbations:
        print(sensitivity_table(perturbations, reference), flush=True)
    runs, seconds = {}, {}
    for experiment in FLAGS.experiments:
        name = experiment_name(experiment)
        try:
            seconds[name] = train(experiment, workdirs[name], extra=extra)
        except RuntimeError as e:
            cli.fail(_PROGRAM, e, cli.INPUT_ERROR)
        runs[name] = read_evaluations(workdirs[name])
        if not runs[name]:
            cli.fail(_PROGRAM, f"{workdirs[name]} holds no evaluations", cli.INPUT_ERROR)
        last = max(runs[name].items())
        print(
            f"{name}: {seconds[name]:.0f} s; at step {last[0]}: {json.dumps(last[1])}", flush=True
        )
    report = {
        "eval_samples": FLAGS.eval_samples,
        "extra_flags": extra,
        "real_vs_real": reference,
        "perturbed_real": perturbations,
        "runs": {
            name: {"train_seconds": seconds[name], "evaluations": runs[name]} for name in runs
        },
    }
    if "quickstart" in runs:
        report["quickstart_target"] = target(runs["quickstart"], reference)
    with open(FLAGS.output, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    plot(runs, reference, FLAGS.plot)
    print(table(runs, reference))
    if "quickstart_target" in report:
        t = report["quickstart_target"]
        print(
            f"quickstart target (FID <= {FLOOR_FACTOR:g}x floor, every class covered) at step "
            f"{t['step']}: {t['fid_over_floor']:.2f}x, classes covered {t['classes_covered']}: "
            f"{t['status']}"
        )
    print(f"wrote {FLAGS.output} and {FLAGS.plot}", flush=True)


if __name__ == "__main__":
    _define_flags()
    app.run(main, flags_parser=cli.flags_parser(_PROGRAM))
