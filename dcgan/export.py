r"""Exports a trained generator as a TensorFlow SavedModel.

    python -m dcgan.export --workdir=W --output=DIR

The SavedModel needs only TensorFlow to load (``tf.saved_model.load(DIR)``), not dcgan.
Its signatures:
    serving_default(noise: float32 [N, *noise_shape]) -> {"images": float32
        [N, H, W, C] in [-1, 1]}  (for vector runs: {"samples": [N, D]})
    sample(count: int32 [], seed: int64 [2]) -> the same output for ``count`` noise
        examples drawn as in training (the run's distribution and scale), statelessly
        from ``seed``: callers need not know how the run drew its noise.
A class-conditional run's signatures take the classes too:
    serving_default(noise: float32 [N, *noise_shape], labels: int32 [N]) -> the same
    sample(labels: int32 [N], seed: int64 [2]) -> one sample of each class in ``labels``
DIR/dcgan_noise.json records the noise shape, distribution and scale, and a conditional
run's class names (label i is ``class_names[i]``).
"""

from __future__ import annotations

import json
import os

from absl import app, flags

from dcgan import cli

_PROGRAM = "dcgan.export"

flags.DEFINE_string("workdir", None, "Workdir of a dcgan.train run.")
cli.define_generator_flags()
flags.adopt_module_key_flags(cli)  # --help lists --checkpoint and --ema as this program's
flags.DEFINE_string("output", None, "Directory to write the SavedModel to (must not exist).")
FLAGS = flags.FLAGS


def main(argv: list[str]) -> None:
    cli.check_no_arguments(_PROGRAM, argv)
    cli.require_workdir(_PROGRAM, FLAGS.workdir)
    if not FLAGS.output:
        cli.fail(_PROGRAM, "--output is required: the SavedModel directory to create", 2)
    if cli.path_exists(FLAGS.output):
        cli.fail(_PROGRAM, f"--output={FLAGS.output} exists; give a new directory", 2)

    cli.quiet_tensorflow()
    import tensorflow as tf

    from dcgan.io import storage
    from dcgan.run import builder, classes

    trained = cli.load_generator(_PROGRAM, FLAGS.workdir, FLAGS.checkpoint)

    config = trained.config
    generator = trained.generator
    key = "images" if config.is_image else "samples"
    distribution = builder.build_noise(config)
    shape = distribution.shape

    module = tf.Module()
    module.generator = generator  # tracked, so the SavedModel holds its variables
    conditioning = builder.build_conditioning(config)
    noise_spec = tf.TensorSpec([None, *shape], tf.float32, name="noise")
    seed_spec = tf.TensorSpec([2], tf.int64, name="seed")
    if conditioning.labeled:
        labels_spec = tf.TensorSpec([None], tf.int32, name="labels")

        @tf.function(input_signature=[noise_spec, labels_spec])
        def serve(noise, labels):
            return {key: conditioning.generate(generator, noise, labels, training=False)}

        @tf.function(input_signature=[labels_spec, seed_spec])
        def sample(labels, seed):
            noise = distribution.sample(tf.shape(labels)[0], seed=seed)
            return {key: conditioning.generate(generator, noise, labels, training=False)}

    else:

        @tf.function(input_signature=[noise_spec])
        def serve(noise):
            return {key: generator(noise, training=False)}

        @tf.function(input_signature=[tf.TensorSpec([], tf.int32, name="count"), seed_spec])
        def sample(count, seed):
            noise = distribution.sample(count, seed=seed)
            return {key: generator(noise, training=False)}

    module.serve, module.sample = serve, sample
    tf.saved_model.save(
        module, FLAGS.output, signatures={"serving_default": serve, "sample": sample}
    )
    description = {
        "noise_shape": list(shape),
        "noise_distribution": config.noise_distribution,
        "noise_scale": config.noise_scale,
        "output": key,
        "checkpoint": trained.checkpoint,
    }
    if conditioning.labeled:
        names = classes.read(FLAGS.workdir) or tuple(map(str, range(config.num_classes)))
        description["class_names"] = list(names)
    storage.write_text(
        os.path.join(FLAGS.output, "dcgan_noise.json"), json.dumps(description, indent=2) + "\n"
    )
    print(f"exported G of {trained.checkpoint} to {FLAGS.output}", flush=True)


if __name__ == "__main__":
    app.run(main, flags_parser=cli.flags_parser(_PROGRAM))
