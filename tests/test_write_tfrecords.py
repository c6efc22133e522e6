"""``python -m dcgan.write_tfrecords``: an image folder as TFRecord shards, or one-line errors.

The commands run in one process (``runner.run_batch``) started when the module starts;
each test reads its own.
"""

import os

import pytest
import tensorflow as tf
from PIL import Image
from runner import Commands, program_stderr

ERRORS = [
    (["--data_dir={tmp}/none", "--output={tmp}/t"], 1, "data_dir '{tmp}/none' does not exist"),
    (["--data_dir={tmp}", "--output={tmp}/t", "--num_shards=0"], 2, "num_shards"),
    (["--data_dir={tmp}", "--output={tmp}/none/t"], 1, "cannot write the TFRecord shards"),
    (["--data_dir={tmp}"], 2, "--output is required: the shards' path prefix"),
    (
        ["--data_dir={tmp}", "--output={tmp}/t", "--labels"],
        1,
        "data_dir '{tmp}' has 0 subfolder(s); --labels needs labeled images: put each class's "
        "images in its own subfolder (at least two)",
    ),
]


@pytest.fixture(scope="module", autouse=True)
def commands(tmp_path_factory):
    """A folder of 3 images written as 2 shards, a folder of 2 classes written with their
    labels, and each case of ``ERRORS``."""
    commands = Commands(tmp_path_factory)
    tmp = commands.mkdir("shards")
    for level in (10, 20, 30):
        Image.new("L", (4, 4), level).save(tmp / f"{level}.png")
    os.makedirs(tmp / "out")
    args = (f"--data_dir={tmp}", f"--output={tmp / 'out' / 'train'}", "--num_shards=2")
    commands.command("shards", "dcgan.write_tfrecords", *args)
    tmp = commands.mkdir("labeled")
    for name, level in (("zebra", 10), ("ant", 20), ("ant", 30)):
        os.makedirs(tmp / "set" / name, exist_ok=True)
        Image.new("L", (4, 4), level).save(tmp / "set" / name / f"{level}.png")
    args = (f"--data_dir={tmp / 'set'}", f"--output={tmp / 'train'}", "--labels")
    commands.command("labeled", "dcgan.write_tfrecords", *args)
    for index, (args, _, _) in enumerate(ERRORS):
        tmp = commands.mkdir(f"error{index}")
        Image.new("L", (4, 4), 1).save(tmp / "a.png")
        commands.command(
            f"error{index}", "dcgan.write_tfrecords", *[a.format(tmp=tmp) for a in args]
        )
    commands.start()
    yield commands
    commands.close()


def test_writes_the_shards_and_says_what(commands):
    tmp_path, result = commands.folder("shards"), commands.result("shards")
    prefix = tmp_path / "out" / "train"
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


def test_labels_writes_each_images_class_and_its_name(commands):
    tmp_path, result = commands.folder("labeled"), commands.result("labeled")
    assert result.returncode == 0, result.stderr
    shard = f"{tmp_path / 'train'}-00000-of-00001.tfrecord"
    examples = [
        tf.train.Example.FromString(r.numpy()).features.feature
        for r in tf.data.TFRecordDataset(shard)
    ]
    assert [
        (
            e["image/filename"].bytes_list.value[0].decode(),
            e["image/class/label"].int64_list.value[0],
            e["image/class/text"].bytes_list.value[0].decode(),
        )
        for e in examples
    ] == [("ant/20.png", 0, "ant"), ("ant/30.png", 0, "ant"), ("zebra/10.png", 1, "zebra")]


@pytest.mark.parametrize("index", range(len(ERRORS)), ids=[message for *_, message in ERRORS])
def test_errors(commands, index):
    _, status, message = ERRORS[index]
    tmp_path, result = commands.folder(f"error{index}"), commands.result(f"error{index}")
    assert result.returncode == status
    (last,) = program_stderr(result)[-1:]
    assert last.startswith("dcgan.write_tfrecords: error: ")
    assert message.format(tmp=tmp_path) in last
    assert sorted(os.listdir(tmp_path)) == ["a.png"]  # nothing written
