r"""Generates samples from a trained run without training.

    python -m dcgan.sample --workdir=W --num_samples=64 --output=grid.png
    python -m dcgan.sample --workdir=W --num_samples=10000 --output=samples.npy

Rebuilds the generator from W/config.json and restores it from W's latest checkpoint
(or ``--checkpoint``). ``.png`` writes an image grid, ``.npy`` the raw samples [N, ...].
"""

from __future__ import annotations

import os

from absl import app, flags

from dcgan import cli

_PROGRAM = "dcgan.sample"
_OUTPUT_TYPES = (".png", ".npy")

flags.DEFINE_string("workdir", None, "Workdir of a dcgan.train run.")
flags.DEFINE_string("checkpoint", None, "Checkpoint prefix; default the latest of --workdir.")
flags.DEFINE_integer("num_samples", 64, "Number of samples.", lower_bound=1)
flags.DEFINE_string("output", None, "Output file: .png (image grid) or .npy (raw samples).")
flags.DEFINE_integer("seed", 0, "Seed of the noise.", lower_bound=0)
FLAGS = flags.FLAGS


def main(argv: list[str]) -> None:
    cli.check_no_arguments(_PROGRAM, argv)
    if not FLAGS.workdir:
        cli.fail(_PROGRAM, "--workdir is required: the workdir of a dcgan.train run", 2)
    extension = os.path.splitext(FLAGS.output or "")[1].lower()
    if extension not in _OUTPUT_TYPES:
        cli.fail(_PROGRAM, f"--output={FLAGS.output} must end in one of {_OUTPUT_TYPES}", 2)
    parent = os.path.dirname(os.path.abspath(FLAGS.output))
    if not os.path.isdir(parent):
        cli.fail(_PROGRAM, f"--output={FLAGS.output}: directory {parent} does not exist", 2)

    cli.quiet_tensorflow()
    import numpy as np

    from dcgan import evaluation, images, pretrained
    from dcgan.config import ConfigError
    from dcgan.workdir import CheckpointError

    try:
        run = pretrained.load_generator(FLAGS.workdir, checkpoint=FLAGS.checkpoint)
        config, generator, path = run.config, run.generator, run.checkpoint
        if extension == ".png" and not config.is_image:
            raise ConfigError(
                f"--output={FLAGS.output}: dataset {config.dataset} holds vectors, not "
                "images; write .npy"
            )
    except ConfigError as e:
        cli.fail(_PROGRAM, e, cli.USAGE_ERROR)
    except CheckpointError as e:
        cli.fail(_PROGRAM, e, cli.INPUT_ERROR)

    samples = evaluation.generate(
        generator, config, num_samples=FLAGS.num_samples, seed=FLAGS.seed
    )  # [N, ...]
    if extension == ".npy":
        np.save(FLAGS.output, samples)
    else:
        images.write_png(FLAGS.output, images.make_grid(samples))
    print(f"wrote {FLAGS.num_samples} samples from {path} to {FLAGS.output}", flush=True)


if __name__ == "__main__":
    app.run(main, flags_parser=cli.flags_parser(_PROGRAM))
