r"""Generates samples from a trained run without training.

    python -m dcgan.sample --workdir=W --num_samples=64 --output=grid.png
    python -m dcgan.sample --workdir=W --num_samples=10000 --output=samples.npy
    python -m dcgan.sample --workdir=W --classes=7,A,z --num_samples=8 --output=abc.png

Rebuilds the generator from W/config.json and restores it from W's latest checkpoint
(or ``--checkpoint``). ``.png`` writes an image grid, ``.npy`` the raw samples [N, ...].

A class-conditional run draws ``--num_samples`` samples of each class ``--classes``
names (by name or index, ``all`` for every class), one row per class in the grid; with
no ``--classes`` it draws the classes in turn. Its ``.npy`` output has the classes of
its samples beside it, in ``<output>_labels.npy`` (the layout ``--dataset=npy`` reads).
"""

from __future__ import annotations

import io

from absl import app, flags

from dcgan import cli

_PROGRAM = "dcgan.sample"
_OUTPUT_TYPES = (".png", ".npy")

flags.DEFINE_string("workdir", None, "Workdir of a dcgan.train run.")
cli.define_generator_flags()
flags.adopt_module_key_flags(cli)  # --help lists --checkpoint and --ema as this program's
flags.DEFINE_integer("num_samples", 64, "Number of samples.", lower_bound=1)
flags.DEFINE_string("output", None, "Output file: .png (image grid) or .npy (raw samples).")
flags.DEFINE_integer("seed", 0, "Seed of the noise.", lower_bound=0)
flags.DEFINE_string(
    "classes",
    None,
    "A class-conditional run: the classes to draw, comma-separated names or indices, or "
    "all; --num_samples of each, a row each in the grid. Default: the classes in turn.",
)
FLAGS = flags.FLAGS


def main(argv: list[str]) -> None:
    cli.check_no_arguments(_PROGRAM, argv)
    cli.require_workdir(_PROGRAM, FLAGS.workdir)
    extension = cli.check_output_file(_PROGRAM, FLAGS.output, _OUTPUT_TYPES)

    cli.quiet_tensorflow()
    import numpy as np

    from dcgan.evaluation import evaluator
    from dcgan.io import images
    from dcgan.run import builder

    trained = cli.load_generator(_PROGRAM, FLAGS.workdir, FLAGS.checkpoint)
    config, generator, path = trained.config, trained.generator, trained.checkpoint
    if extension == ".png" and not config.is_image:
        cli.fail(
            _PROGRAM,
            f"--output={FLAGS.output}: dataset {config.dataset} holds vectors, not images; "
            "write .npy",
            cli.USAGE_ERROR,
        )

    conditioning = builder.build_conditioning(config)
    chosen = cli.requested_classes(_PROGRAM, FLAGS.workdir, config, FLAGS.classes)
    labels, columns = None, None
    if chosen is not None:
        labels = np.repeat(np.asarray(chosen, np.int32), FLAGS.num_samples)  # a row per class
        columns = FLAGS.num_samples
    elif conditioning.labeled:
        labels = conditioning.classes_in_turn(FLAGS.num_samples)
    num_samples = FLAGS.num_samples if labels is None else len(labels)
    samples = evaluator.generate(
        generator,
        builder.build_noise(config),
        num_samples=num_samples,
        seed=FLAGS.seed,
        conditioning=conditioning,
        labels=labels,
    )  # [N, ...]
    if extension == ".npy":
        _write_npy(FLAGS.output, samples)
        if labels is not None:
            _write_npy(FLAGS.output[: -len(".npy")] + "_labels.npy", labels)
    else:
        images.write_png(FLAGS.output, images.make_grid(samples, columns=columns))
    print(f"wrote {num_samples} samples from {path} to {FLAGS.output}", flush=True)


def _write_npy(path: str, array) -> None:
    import numpy as np

    from dcgan.io import storage

    encoded = io.BytesIO()
    np.save(encoded, array)
    storage.write_bytes(path, encoded.getvalue())


if __name__ == "__main__":
    app.run(main, flags_parser=cli.flags_parser(_PROGRAM))
