r"""Trains a domain classifier: ``python -m dcgan.classifier --dataset=D --output=C.keras``.

A small CNN learns the classes of a labeled set: the built-in glyphs (the 62
characters), mnist / fashion_mnist / cifar10 from the Keras cache, or a folder whose
subfolders are the classes. It trains on dimmed, blurred and noisy copies of the
images (``--noaugment`` turns that off), so its features answer "which glyph, what
shape" more than "how bright". It is saved as ``C.keras`` with ``C.json`` beside it (the
data, the class names, the held-out accuracy). Its penultimate layer is a feature space
for FID, KID, precision / recall and density / coverage that needs no download, and its
classes let evaluation count the classes a generator covers:
``python -m dcgan.train ... --eval_every=500 --eval_classifier=C.keras``.
"""

from __future__ import annotations

from absl import app, flags

from dcgan import cli

_PROGRAM = "dcgan.classifier"

flags.DEFINE_string(
    "dataset",
    "glyphs",
    "Labeled images: glyphs, mnist, fashion_mnist, cifar10 (Keras cache), or folder "
    "(--data_dir, one subfolder per class).",
)
flags.DEFINE_string("data_dir", "", "The folder of --dataset=folder.")
flags.DEFINE_integer(
    "image_size", 0, "Side of the images; 0: the set's own (glyphs 32).", lower_bound=0
)
flags.DEFINE_integer("channels", 0, "1 or 3; 0: the set's own (a folder: 3).", lower_bound=0)
flags.DEFINE_integer("epochs", 16, "Passes over the training examples.", lower_bound=1)
flags.DEFINE_integer("batch_size", 128, "Examples per update.", lower_bound=1)
flags.DEFINE_float(
    "held_out", 0.1, "Fraction of the set held out to measure accuracy.", lower_bound=0.0
)
flags.DEFINE_boolean(
    "augment",
    True,
    "Train on dimmed, blurred, noisy copies (dcgan.evaluation.classifiers.augment), so that the "
    "features weigh what an image shows over how bright or sharp it is.",
)
flags.DEFINE_integer("seed", 0, "Seed of the split, the weights and the batches.", lower_bound=0)
flags.DEFINE_string("output", None, "The classifier file to write (.keras); C.json goes beside.")
FLAGS = flags.FLAGS


def main(argv: list[str]) -> None:
    cli.check_no_arguments(_PROGRAM, argv)
    if not FLAGS.output:
        cli.fail(_PROGRAM, "--output is required: the .keras file to write", cli.USAGE_ERROR)
    cli.check_output_file(_PROGRAM, FLAGS.output, (".keras",))
    output = FLAGS.output
    if not 0 < FLAGS.held_out < 1:
        cli.fail(
            _PROGRAM, f"--held_out={FLAGS.held_out} is invalid; allowed: 0 < value < 1",
            cli.USAGE_ERROR,
        )  # fmt: skip
    if FLAGS.dataset == "folder" and not FLAGS.data_dir:
        cli.fail(_PROGRAM, "--dataset=folder needs --data_dir", cli.USAGE_ERROR)

    cli.quiet_tensorflow()
    import tensorflow as tf

    from dcgan.data import labeled as labeled_data
    from dcgan.data.common import DataError
    from dcgan.evaluation import classifiers

    try:
        labeled = labeled_data.labeled_images(
            FLAGS.dataset,
            data_dir=FLAGS.data_dir,
            image_size=FLAGS.image_size,
            channels=FLAGS.channels,
        )
    except DataError as e:
        cli.fail(_PROGRAM, e, cli.INPUT_ERROR)
    count, height, width, channels = labeled.images.shape
    print(
        f"{FLAGS.dataset}: {count} images {height}x{width}x{channels}, "
        f"{len(labeled.class_names)} classes",
        flush=True,
    )
    model, record = classifiers.train_classifier(
        labeled,
        epochs=FLAGS.epochs,
        batch_size=FLAGS.batch_size,
        held_out=FLAGS.held_out,
        seed=FLAGS.seed,
        augmented=FLAGS.augment,
    )
    record.update(
        dataset=FLAGS.dataset,
        data_dir=FLAGS.data_dir,
        image_size=height,
        channels=channels,
        class_names=list(labeled.class_names),
        feature_layer=classifiers.FEATURE_LAYER,
    )
    try:
        classifiers.save_classifier(model, output, record)
    except (OSError, tf.errors.OpError) as e:
        cli.fail(_PROGRAM, f"cannot write {output}: {e}", cli.INPUT_ERROR)
    print(
        f"held-out accuracy {100 * record['held_out_accuracy']:.2f} % on "
        f"{record['num_held_out']} images; wrote {output} and {classifiers.record_path(output)}",
        flush=True,
    )


if __name__ == "__main__":
    app.run(main, flags_parser=cli.flags_parser(_PROGRAM))
