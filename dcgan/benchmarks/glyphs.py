r"""Glyph benchmark: objectives and stabilizers side by side on the built-in glyphs.

    python -m dcgan.benchmarks.glyphs                     # the 4 flagfiles, ~20 min here
    python -m dcgan.benchmarks.glyphs --experiments=glyphs32_r1 --train_steps=500

Needs no download. FID and KID are measured in the features of the glyph classifier
that ships with the package (``dcgan.classifier``; its held-out accuracy is reported).
It writes the set's first 500 images to
``<root>/glyphs500.npy`` for the small-data flagfiles, then trains each
``experiments/<name>.flags`` in a child process and measures the final sampling
generator (the EMA if kept) on ``--num_samples`` samples against the **whole** glyph set,
so runs on 500 images are measured against what they should generalize to. The floor
is the FID between the two halves of the set.
"""

from __future__ import annotations

import json
import os
import time

import numpy as np
from absl import app, flags

from dcgan import cli

_PROGRAM = "dcgan.benchmarks.glyphs"
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXPERIMENTS = (
    "glyphs32_r1",
    "glyphs32_hinge_sn",
    "glyphs500_hinge_sn",
    "glyphs500_hinge_sn_augment",
)
SUBSET_SIZE = 500
_IMAGE_SIZE = 32
# Held-out noise for the final measurement, as in dcgan.benchmarks.toys.
_EVAL_SEED = 12345


def _define_flags() -> None:
    flags.DEFINE_list("experiments", list(EXPERIMENTS), f"Flagfiles: {', '.join(EXPERIMENTS)}.")
    flags.DEFINE_string("workdir_root", "runs/bench_glyphs", "Runs go to <root>/<experiment>.")
    flags.DEFINE_integer("train_steps", 0, "Override the flagfiles' --train_steps; 0: theirs.")
    flags.DEFINE_integer("num_samples", 5000, "Generated samples per measurement.", lower_bound=2)
    flags.DEFINE_string("output", "bench_glyphs.json", "JSON file of every run's figures.")


def glyph_set() -> tuple[np.ndarray, np.ndarray]:
    """The whole glyph set in [-1, 1], [N, 32, 32, 1] float32, and its character labels."""
    from dcgan import data

    images = data.render_glyphs(image_size=_IMAGE_SIZE)
    labels = np.arange(len(images)) % len(data.glyphs.GLYPH_CHARACTERS)
    return images.astype(np.float32) / 127.5 - 1.0, labels


def halves(count: int) -> tuple[slice, slice]:
    """The set's first and second half: each holds every character equally often.

    (Even and odd indices would not: image i shows character i % 62, so the even
    images hold only every other character.)
    """
    return slice(0, count // 2), slice(count // 2, count)


def run_one(experiment: str, *, root: str, train_steps: int, subset_file: str) -> dict:
    """Trains one flagfile in a child process; returns its workdir and training time.

    Raises:
        RuntimeError: with the child's last stderr line if training fails.
    """
    workdir = os.path.join(root, experiment)
    args = [
        f"--flagfile={os.path.join(_ROOT, 'experiments', experiment + '.flags')}",
        f"--workdir={workdir}",
    ]
    if experiment.startswith("glyphs500"):
        args.append(f"--data_file={subset_file}")
    if train_steps:
        args.append(f"--train_steps={train_steps}")
    start = time.monotonic()
    cli.run_child("dcgan.train", args, cwd=_ROOT)
    return {"workdir": workdir, "train_seconds": round(time.monotonic() - start, 1)}


def measure(workdir: str, extractor, real: tuple[np.ndarray, np.ndarray], num_samples: int) -> dict:
    """The image metrics of the run's final sampling generator against ``real``, the
    features and classes of the whole set."""
    from dcgan.evaluation import evaluator
    from dcgan.run import builder, pretrained

    run = pretrained.load_generator(workdir)
    noise = builder.build_noise(run.config).sample(num_samples, seed=[_EVAL_SEED, 0])
    fake_features, fake_classes = extractor(run.generator.predict(noise, batch_size=500, verbose=0))
    step = int(os.path.basename(run.checkpoint).split("-")[-1])
    result = evaluator.feature_metrics(
        real[0],
        fake_features,
        real_classes=real[1],
        fake_classes=fake_classes,
        num_classes=extractor.num_classes,
    )
    result.pop("fake_class_counts")
    return {"steps": step, **result}


def table(rows: list[dict], floor: float) -> str:
    """The rows as a Markdown table, with the real-vs-real floor as the last row."""
    lines = [
        "| experiment | steps | train time | FID | KID |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['experiment']} | {row['steps']} | {row['train_seconds']:.0f} s | "
            f"{row['fid']:.1f} | {row['kid']:.1f} |"
        )
    lines.append(f"| real vs real (two halves of the set) | | | {floor:.1f} | |")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    cli.check_no_arguments(_PROGRAM, argv)
    FLAGS = flags.FLAGS
    unknown = [name for name in FLAGS.experiments if name not in EXPERIMENTS]
    if unknown:
        cli.fail(
            _PROGRAM,
            f"--experiments={','.join(FLAGS.experiments)}: {unknown} are not glyph experiments; "
            f"allowed: {', '.join(EXPERIMENTS)}",
            cli.USAGE_ERROR,
        )
    if FLAGS.train_steps < 0:
        cli.fail(
            _PROGRAM,
            f"--train_steps={FLAGS.train_steps} is invalid; allowed: an integer >= 0",
            cli.USAGE_ERROR,
        )
    cli.check_output_file(_PROGRAM, FLAGS.output, (".json",))
    existing = [
        path
        for name in FLAGS.experiments
        if os.path.exists(path := os.path.join(FLAGS.workdir_root, name))
    ]
    if existing:  # a resumed run would report the time of its rest only
        cli.fail(
            _PROGRAM,
            f"{existing[0]} exists: remove it or pick another --workdir_root",
            cli.USAGE_ERROR,
        )
    cli.quiet_tensorflow()
    from dcgan.evaluation import classifiers, evaluator, features

    images, _ = glyph_set()
    os.makedirs(FLAGS.workdir_root, exist_ok=True)
    subset_file = os.path.join(FLAGS.workdir_root, "glyphs500.npy")
    np.save(subset_file, np.round((images[:SUBSET_SIZE] + 1.0) * 127.5).astype(np.uint8))
    record = classifiers.load_record(features.default_classifier("glyphs"))
    accuracy = record["held_out_accuracy"]
    extractor = features.make_extractor(classifier="", layer="", dataset="glyphs")
    print(f"classifier: {extractor.description}, held-out accuracy {100 * accuracy:.1f} %")
    real_features, real_classes = extractor(images)
    first, second = halves(len(images))
    floor = evaluator.feature_metrics(
        real_features[first],
        real_features[second],
        real_classes=real_classes[first],
        fake_classes=real_classes[second],
        num_classes=extractor.num_classes,
    )
    floor.pop("fake_class_counts")

    rows = []
    for name in FLAGS.experiments:
        try:
            trained = run_one(
                name,
                root=FLAGS.workdir_root,
                train_steps=FLAGS.train_steps,
                subset_file=subset_file,
            )
        except RuntimeError as e:
            cli.fail(_PROGRAM, e, cli.INPUT_ERROR)
        figures = measure(
            trained["workdir"], extractor, (real_features, real_classes), FLAGS.num_samples
        )
        row = {"experiment": name, **trained, **figures}
        print(json.dumps(row), flush=True)
        rows.append(row)
    with open(FLAGS.output, "w") as f:
        report = {
            "classifier": extractor.description,
            "classifier_accuracy": accuracy,
            "real_vs_real": floor,
            "num_samples": FLAGS.num_samples,
            "runs": rows,
        }
        json.dump(report, f, indent=2)
        f.write("\n")
    print(table(rows, floor["fid"]))


if __name__ == "__main__":
    _define_flags()
    app.run(main, flags_parser=cli.flags_parser(_PROGRAM))
