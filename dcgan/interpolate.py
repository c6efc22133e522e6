r"""Latent interpolation of a trained run: S1's way of judging its generator.

    python -m dcgan.interpolate --workdir=W --output=interp.png

Draws ``--rows`` random pairs of latent examples (from the run's own noise distribution)
and generates ``--steps`` images on the path between each pair: row i of the PNG goes
from pair i's first image to its second. Beside the PNG, a GIF (same name, ``.gif``)
moves all pairs along their paths at once, forth and back. A smooth path of plausible
images means G learned a continuous map rather than memorizing examples. A
class-conditional run interpolates within a class: row i keeps class i (in turn), or
the classes ``--classes`` names.
"""

from __future__ import annotations

import os

from absl import app, flags

from dcgan import cli
from dcgan.gan import latent

_PROGRAM = "dcgan.interpolate"

flags.DEFINE_string("workdir", None, "Workdir of a dcgan.train run on images.")
cli.define_generator_flags()
flags.adopt_module_key_flags(cli)  # --help lists --checkpoint and --ema as this program's
flags.DEFINE_string("output", None, "PNG to write; the GIF goes beside it with .gif.")
flags.DEFINE_integer("rows", 8, "Number of latent pairs, one row each.", lower_bound=1)
flags.DEFINE_integer("steps", 10, "Images per row, both ends included.", lower_bound=2)
flags.DEFINE_integer("seed", 0, "Seed of the latent pairs.", lower_bound=0)
flags.DEFINE_enum(
    "method",
    "slerp",
    list(latent.METHODS),
    "Path between a pair: slerp keeps the noise norm G was trained on (dcgan.gan.latent).",
)
flags.DEFINE_integer("frame_ms", 100, "Milliseconds per GIF frame.", lower_bound=1)
flags.DEFINE_string(
    "classes",
    None,
    "A class-conditional run: the class of each row, comma-separated names or indices "
    "(repeated over the rows), or all. Default: the classes in turn.",
)
FLAGS = flags.FLAGS


def main(argv: list[str]) -> None:
    cli.check_no_arguments(_PROGRAM, argv)
    cli.require_workdir(_PROGRAM, FLAGS.workdir)
    cli.check_output_file(_PROGRAM, FLAGS.output, (".png",))

    cli.quiet_tensorflow()
    import numpy as np
    import tensorflow as tf

    from dcgan.io import images
    from dcgan.run import builder

    trained = cli.load_generator(_PROGRAM, FLAGS.workdir, FLAGS.checkpoint)
    if not trained.config.is_image:
        cli.fail(
            _PROGRAM,
            f"--workdir={FLAGS.workdir}: dataset {trained.config.dataset} holds vectors, not "
            "images; interpolation grids need an image run",
            cli.USAGE_ERROR,
        )

    config = trained.config
    method = FLAGS.method
    ends = (
        builder.build_noise(config)
        .sample(2 * FLAGS.rows, rng=tf.random.Generator.from_seed(FLAGS.seed))
        .numpy()
    )  # [2 * rows, *latent_shape]
    paths = np.concatenate(
        [
            latent.interpolate(ends[2 * i], ends[2 * i + 1], FLAGS.steps, method=method)
            for i in range(FLAGS.rows)
        ]
    )  # [rows * steps, *latent_shape], row by row
    conditioning = builder.build_conditioning(config)
    chosen = cli.requested_classes(_PROGRAM, FLAGS.workdir, config, FLAGS.classes)
    labels = None
    if conditioning.labeled:
        row_classes = conditioning.classes_in_turn(FLAGS.rows)
        if chosen is not None:
            row_classes = np.resize(np.asarray(chosen, np.int32), FLAGS.rows)
        labels = tf.constant(np.repeat(row_classes, FLAGS.steps), tf.int32)  # a row, a class
    samples = conditioning.generate(trained.generator, paths, labels, training=False).numpy()
    # [rows * steps, H, W, C]
    images.write_png(FLAGS.output, images.make_grid(samples, columns=FLAGS.steps))

    by_step = samples.reshape(FLAGS.rows, FLAGS.steps, *samples.shape[1:]).swapaxes(0, 1)
    frames = [images.make_grid(pairs) for pairs in by_step]  # one frame per position
    gif = os.path.splitext(FLAGS.output)[0] + ".gif"
    images.write_gif(gif, frames + frames[-2:0:-1], duration_ms=FLAGS.frame_ms)
    print(
        f"wrote {FLAGS.rows} {method} interpolations of {FLAGS.steps} images from "
        f"{trained.checkpoint} to {FLAGS.output} and {gif}",
        flush=True,
    )


if __name__ == "__main__":
    app.run(main, flags_parser=cli.flags_parser(_PROGRAM))
