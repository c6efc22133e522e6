r"""Measures a trained run: ``python -m dcgan.evaluate --workdir=W [--checkpoint=best]``.

Restores G from W's latest checkpoint (or ``--checkpoint``: a prefix, or ``best``),
generates ``--num_samples`` examples and writes the metrics that fit the run's data as
JSON: the mode-coverage protocol for ring2d / grid2d, W1 and KS to N(0, 1) for
gaussian1d; for images FID, KID, precision, recall, density, coverage and, measured by a
classifier, the classes covered and the class histogram's KL (the glyphs' classifier
ships with the package, so a glyph run is measured offline). The JSON records the
sample counts, the seed and, for images, the feature extractor, since FID depends on
all of them.
"""

from __future__ import annotations

import dataclasses
import json
import os

from absl import app, flags

from dcgan import cli

_PROGRAM = "dcgan.evaluate"

flags.DEFINE_string("workdir", None, "Workdir of a dcgan.train run.")
cli.define_generator_flags()
flags.adopt_module_key_flags(cli)  # --help lists --checkpoint and --ema as this program's
flags.DEFINE_integer(
    "num_samples",
    None,
    "Generated (and real) examples; default the run's --eval_samples.",
    lower_bound=2,
)
flags.DEFINE_integer("seed", None, "Seed of the noise; default the run's --seed.", lower_bound=0)
flags.DEFINE_string("output", None, "JSON file to write; default W/eval_<checkpoint name>.json.")
flags.DEFINE_string(
    "eval_classifier",
    None,
    "Image runs: a saved Keras classifier (python -m dcgan.classifier), inception or "
    "ttur_inception (the FID papers report); default the run's, else the one shipped for "
    "its dataset, else inception.",
)
flags.DEFINE_string("eval_layer", None, "Layer of --eval_classifier; default its penultimate.")
FLAGS = flags.FLAGS


def main(argv: list[str]) -> None:
    cli.check_no_arguments(_PROGRAM, argv)
    cli.require_workdir(_PROGRAM, FLAGS.workdir)
    if FLAGS.output is not None:
        cli.check_output_file(_PROGRAM, FLAGS.output, (".json",))

    cli.quiet_tensorflow()
    import tensorflow as tf

    from dcgan.config import ConfigError
    from dcgan.data.common import DataError
    from dcgan.evaluation import choices as eval_choices
    from dcgan.evaluation.features import EvaluationError
    from dcgan.io import storage
    from dcgan.run import builder

    trained = cli.load_generator(_PROGRAM, FLAGS.workdir, FLAGS.checkpoint)
    config = trained.config
    if not config.eval_metrics:
        cli.fail(
            _PROGRAM,
            f"--workdir={FLAGS.workdir} trained on --dataset={config.dataset}, which has no "
            "metrics (no reference distribution to measure against)",
            cli.USAGE_ERROR,
        )
    overrides = {
        name: FLAGS[name].value
        for name in ("eval_classifier", "eval_layer")
        if FLAGS[name].value is not None
    }
    try:
        config = dataclasses.replace(config, **overrides)
    except ConfigError as e:
        cli.fail(_PROGRAM, e, cli.USAGE_ERROR)
    if overrides and not config.is_image:
        cli.fail(
            _PROGRAM,
            f"--{next(iter(overrides))} has no effect here: it needs an image run "
            f"(this run has --dataset={config.dataset})",
            cli.USAGE_ERROR,
        )
    num_samples = FLAGS.num_samples or config.eval_samples
    if config.is_image and not eval_choices.IMAGE_SAMPLES.accepts(num_samples):
        cli.fail(
            _PROGRAM,
            f"--num_samples={num_samples} is invalid; allowed: "
            f"{eval_choices.IMAGE_SAMPLES_ALLOWED}",
            cli.USAGE_ERROR,
        )
    try:
        evaluator = builder.build_evaluator(config, num_samples=num_samples, seed=FLAGS.seed)
    except (EvaluationError, DataError) as e:
        cli.fail(_PROGRAM, e, cli.INPUT_ERROR)
    result = evaluator(trained.generator)

    step = int(tf.train.load_checkpoint(trained.checkpoint).get_tensor(_STEP_KEY))
    record = {
        "workdir": FLAGS.workdir,
        "checkpoint": trained.checkpoint,
        "step": step,
        "ema": trained.ema,  # the weight average of G (--g_ema_decay) rather than G
        "dataset": config.dataset,
        "seed": evaluator.seed,
        "metrics": {k: v for k, v in result.items() if k in config.eval_metrics + ("kid_std",)},
        **{
            k: v
            for k, v in result.items()
            if k.startswith("num_") or k in ("extractor", "fake_class_counts")
        },
    }
    output = FLAGS.output or os.path.join(
        FLAGS.workdir, f"eval_{_checkpoint_name(trained.checkpoint)}.json"
    )
    storage.write_text(output, json.dumps(record, indent=2, sort_keys=True) + "\n")
    line = " ".join(f"{name}={value:.4g}" for name, value in record["metrics"].items())
    print(f"{trained.checkpoint} (step {step}): {line}; wrote {output}", flush=True)


# The int64 step variable of dcgan.step.trainer.Trainer, as tf.train.Checkpoint names it.
_STEP_KEY = "step/.ATTRIBUTES/VARIABLE_VALUE"


def _checkpoint_name(path: str) -> str:
    """``W/best/ckpt-1200`` -> ``best-ckpt-1200``; ``W/checkpoints/ckpt-1200`` -> ``ckpt-1200``."""
    folder, name = os.path.split(path)
    return f"best-{name}" if os.path.basename(folder) == "best" else name


if __name__ == "__main__":
    app.run(main, flags_parser=cli.flags_parser(_PROGRAM))
