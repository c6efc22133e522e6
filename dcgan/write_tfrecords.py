r"""Writes an image folder as sharded TFRecord files for ``--dataset=tfrecord``.

    python -m dcgan.write_tfrecords --data_dir=FOLDER --output=PREFIX --num_shards=N [--labels]

writes PREFIX-00000-of-0000N.tfrecord, …: each image file as it is (no re-encoding)
under ``image/encoded`` of a ``tf.train.Example``, in the sorted order
``--dataset=folder`` lists them. Train on them with
``--dataset=tfrecord --data_pattern='PREFIX-*.tfrecord'``. FOLDER and PREFIX may be on
any file system TensorFlow reads (``gs://…``).

``--labels`` also writes each image's class, as a labeled ``--dataset=folder`` run reads
it: FOLDER must hold one subfolder per class (at least two, none empty, no image outside
them); the index of the image's subfolder, sorted by name, goes under the int64
``image/class/label`` and the subfolder's name under ``image/class/text`` (the TF-Slim /
ImageNet convention), so a labeled ``--dataset=tfrecord`` run reads the folder's labels.
"""

from __future__ import annotations

from absl import app, flags

from dcgan import cli

_PROGRAM = "dcgan.write_tfrecords"

flags.DEFINE_string("data_dir", None, "Image folder, searched recursively.")
flags.DEFINE_string("output", None, "Path prefix of the shards, e.g. gs://bucket/celeba/train.")
flags.DEFINE_integer("num_shards", 1, "Number of shard files.", lower_bound=1)
flags.DEFINE_bool(
    "labels",
    False,
    "Also write each image's class: the index of its class subfolder of --data_dir (sorted "
    "by name) as image/class/label, the subfolder's name as image/class/text.",
)
FLAGS = flags.FLAGS


def main(argv: list[str]) -> None:
    cli.check_no_arguments(_PROGRAM, argv)
    for name, what in (("data_dir", "the image folder"), ("output", "the shards' path prefix")):
        if not FLAGS[name].value:
            cli.fail(_PROGRAM, f"--{name} is required: {what}", cli.USAGE_ERROR)

    cli.quiet_tensorflow()
    from dcgan.data import DataError, tfrecord

    try:
        written = tfrecord.write_shards(
            FLAGS.data_dir, FLAGS.output, num_shards=FLAGS.num_shards, labels=FLAGS.labels
        )
    except DataError as e:
        cli.fail(_PROGRAM, e, cli.INPUT_ERROR)
    for path, records in written:
        print(f"wrote {records} images to {path}", flush=True)
    total = sum(records for _, records in written)
    print(f"wrote {total} images from {FLAGS.data_dir} in {len(written)} shards", flush=True)


if __name__ == "__main__":
    app.run(main, flags_parser=cli.flags_parser(_PROGRAM))
