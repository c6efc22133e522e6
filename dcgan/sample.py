r"""Generates samples from a trained run without training.

    python -m dcgan.sample --workdir=W --num_samples=64 --output=grid.png
    python -m dcgan.sample --workdir=W --num_samples=10000 --output=samples.npy

Rebuilds the generator from W/config.json and restores it from W's latest checkpoint
(or ``--checkpoint``). ``.png`` writes an image grid, ``.npy`` the raw samples [N, ...].
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
FLAGS = flags.FLAGS


def main(argv: list[str]) -> None:
    cli.check_no_arguments(_PROGRAM, argv)
    cli.require_workdir(_PROGRAM, FLAGS.workdir)
    extension = cli.check_output_file(_PROGRAM, FLAGS.output, _OUTPUT_TYPES)

    cli.quiet_tensorflow()
    import numpy as np

    from dcgan.evaluation import evaluator
    from dcgan.io import images, storage
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

    noise = builder.build_noise(config)
    samples = evaluator.generate(
        generator, noise, num_samples=FLAGS.num_samples, seed=FLAGS.seed
    )  # [N, ...]
    if extension == ".npy":
        encoded = io.BytesIO()
        np.save(encoded, samples)
        storage.write_bytes(FLAGS.output, encoded.getvalue())
    else:
        images.write_png(FLAGS.output, images.make_grid(samples))
    print(f"wrote {FLAGS.num_samples} samples from {path} to {FLAGS.output}", flush=True)


if __name__ == "__main__":
    app.run(main, flags_parser=cli.flags_parser(_PROGRAM))
