r"""Glyph benchmark: objectives and stabilizers side by side on the built-in glyphs.

    python -m dcgan.benchmarks.glyphs                     # the 4 flagfiles, ~20 min here
    python -m dcgan.benchmarks.glyphs --experiments=glyphs32_r1 --train_steps=500

Needs no download. It first trains a small classifier on the glyph set (its labels are
the 62 characters) and reports its held-out accuracy: the classifier's penultimate layer
is the feature space of FID and KID. It writes the set's first 500 images to
``<root>/glyphs500.npy`` for the small-data flagfiles, then trains each
``experiments/<name>.flags`` in a child process and measures the final sampling
generator (the EMA if kept) on ``--num_samples`` samples against the **whole** glyph set,
so runs on 500 images are measured against what they should generalize to. The floor
is the FID between the two halves of the set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
    flags.DEFINE_integer("classifier_epochs", 4, "Epochs of the feature classifier.", lower_bound=1)
    flags.DEFINE_string("output", "bench_glyphs.json", "JSON file of every run's figures.")


def glyph_set() -> tuple[np.ndarray, np.ndarray]:
    """The whole glyph set in [-1, 1], [N, 32, 32, 1] float32, and its character labels."""
    from dcgan import data

    images = data.render_glyphs(image_size=_IMAGE_SIZE)
    labels = np.arange(len(images)) % len(data.glyphs.GLYPH_CHARACTERS)
    return images.astype(np.float32) / 127.5 - 1.0, labels


def train_classifier(images: np.ndarray, labels: np.ndarray, *, epochs: int, seed: int = 0):
    """A small CNN classifier of ``images``; returns it and its held-out accuracy.

    One image in ten (every tenth) is held out. The penultimate layer, ``features``
    (128 units), is the feature space FID and KID use.
    """
    import keras

    keras.utils.set_random_seed(seed)
    held_out = np.arange(len(images)) % 10 == 0
    classes = int(labels.max()) + 1
    model = keras.Sequential(
        [
            keras.Input(images.shape[1:]),
            keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
            keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu"),
            keras.layers.Conv2D(128, 3, strides=2, padding="same", activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu", name="features"),
            keras.layers.Dense(classes, name="logits"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(images[~held_out], labels[~held_out], batch_size=128, epochs=epochs, verbose=0)
    _, accuracy = model.evaluate(images[held_out], labels[held_out], verbose=0)
    return model, float(accuracy)


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
    result = subprocess.run(
        [sys.executable, "-m", "dcgan.train", *args], capture_output=True, text=True, cwd=_ROOT
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"dcgan.train {' '.join(args)} failed: {last}")
    return {"workdir": workdir, "train_seconds": round(time.monotonic() - start, 1)}


def measure(workdir: str, extractor, real_features: np.ndarray, num_samples: int) -> dict:
    """FID and KID of the run's final sampling generator against ``real_features``."""
    from dcgan import builder, evaluation, pretrained

    run = pretrained.load_generator(workdir)
    noise = builder.build_noise(run.config).sample(num_samples, seed=[_EVAL_SEED, 0])
    fake = run.generator.predict(noise, batch_size=500, verbose=0)
    step = int(os.path.basename(run.checkpoint).split("-")[-1])
    return {"steps": step, **evaluation.feature_metrics(real_features, extractor(fake))}


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
    from dcgan import evaluation

    images, labels = glyph_set()
    os.makedirs(FLAGS.workdir_root, exist_ok=True)
    subset_file = os.path.join(FLAGS.workdir_root, "glyphs500.npy")
    np.save(subset_file, np.round((images[:SUBSET_SIZE] + 1.0) * 127.5).astype(np.uint8))
    classifier, accuracy = train_classifier(images, labels, epochs=FLAGS.classifier_epochs)
    classifier_file = os.path.join(FLAGS.workdir_root, "glyph_classifier.keras")
    classifier.save(classifier_file)
    print(f"classifier: held-out accuracy {100 * accuracy:.1f} % ({classifier_file})", flush=True)
    extractor, _ = evaluation.classifier_extractor(classifier_file)
    real_features = extractor(images)
    first, second = halves(len(images))
    floor = evaluation.feature_metrics(real_features[first], real_features[second])

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
        figures = measure(trained["workdir"], extractor, real_features, FLAGS.num_samples)
        row = {"experiment": name, **trained, **figures}
        print(json.dumps(row), flush=True)
        rows.append(row)
    with open(FLAGS.output, "w") as f:
        report = {
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
