"""``python -m dcgan.write_tfrecords``: an image folder as TFRecord shards, or one-line errors."""

import os

import pytest
import tensorflow as tf
from PIL import Image
from runner import program_stderr, run_module


def write_tfrecords(*args):
    return run_module("dcgan.write_tfrecords", *args)


def test_writes_the_shards_and_says_what(tmp_path):
    for level in (10, 20, 30):
        Image.new("L", (4, 4), level).save(tmp_path / f"{level}.png")
    os.makedirs(tmp_path / "out")
    prefix = tmp_path / "out" / "train"
    result = write_tfrecords(f"--data_dir={tmp_path}", f"--output={prefix}", "--num_shards=2")
    assert result.returncode == 0, result.stderr
    names = [f"{prefix}-0000{k}-of-00002.tfrecord" for k in range(2)]
    assert result.stdout.splitlines() == [
        f"wrote 2 images to {names[0]}",
        f"wrote 1 images to {names[1]}",
        f"wrote 3 images from {tmp_path} in 2 shards",
    ]
    assert sorted(os.listdir(tmp_path / "out")) == [os.path.basename(n) for n in names]
    first = tf.train.Example.FromString(next(iter(tf.data.TFRecordDataset(names[0]))).numpy())
    encoded = first.features.feature["image/encoded"].bytes_list.value[0]
    assert encoded == (tmp_path / "10.png").read_bytes()  # the file's bytes, not re-encoded


@pytest.mark.parametrize(
    "args, status, message",
    [
        (["--data_dir={tmp}/none", "--output={tmp}/t"], 1, "data_dir '{tmp}/none' does not exist"),
        (["--data_dir={tmp}", "--output={tmp}/t", "--num_shards=0"], 2, "num_shards"),
        (["--data_dir={tmp}", "--output={tmp}/none/t"], 1, "cannot write the TFRecord shards"),
        (["--data_dir={tmp}"], 2, "--output is required: the shards' path prefix"),
    ],
)
def test_errors(tmp_path, args, status, message):
    Image.new("L", (4, 4), 1).save(tmp_path / "a.png")
    result = write_tfrecords(*[a.format(tmp=tmp_path) for a in args])
    assert result.returncode == status
    (last,) = program_stderr(result)[-1:]
    assert last.startswith("dcgan.write_tfrecords: error: ")
    assert message.format(tmp=tmp_path) in last
    assert sorted(os.listdir(tmp_path)) == ["a.png"]  # nothing written
