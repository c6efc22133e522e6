"""Tests for dcgan.data.tfrecord: shards written from a folder, read back, sharded by worker.

Images are solid gray squares whose level identifies them, so which images a pipeline
gave is read off the pixels.
"""

import os
import uuid

import numpy as np
import pytest
import tensorflow as tf
from configs import tiny_image
from PIL import Image

from dcgan import data
from dcgan.data import DataError, tfrecord
from dcgan.run import loop

LEVELS = [10 + 20 * i for i in range(12)]


def solid_folder(root, levels=LEVELS):
    """One PNG per level (some in a subfolder), 5 x 7 pixels."""
    os.makedirs(root / "sub", exist_ok=True)
    for i, level in enumerate(levels):
        Image.new("L", (5, 7), level).save(root / ("sub" if i % 3 else "") / f"{level:03d}.png")
    return str(root)


def levels_of(images):
    """The gray level of each solid image [N, H, W, C] in [-1, 1]."""
    flat = (np.asarray(images).reshape(len(images), -1) + 1) * 127.5
    assert flat.std(axis=1).max() < 0.5
    return np.round(flat.mean(axis=1)).astype(int).tolist()


def records(path):
    return [r.numpy() for r in tf.data.TFRecordDataset(path)]


def images_of(pattern, count, **options):
    dataset = data.make_dataset(
        "tfrecord", batch_size=1, seed=3, data_pattern=pattern, image_size=4, **options
    )
    return levels_of(np.concatenate([b.numpy() for b in dataset.take(count)]))


@pytest.fixture
def shards(tmp_path):
    """The 12 levels written as 4 shards; returns their glob."""
    folder = solid_folder(tmp_path / "folder")
    os.makedirs(tmp_path / "out")
    tfrecord.write_shards(folder, str(tmp_path / "out" / "train"), num_shards=4)
    return str(tmp_path / "out" / "train-*.tfrecord")


def test_write_shards_copies_the_files_bytes_round_robin(tmp_path):
    folder = solid_folder(tmp_path / "folder", LEVELS[:5])
    os.makedirs(tmp_path / "out")
    written = tfrecord.write_shards(folder, str(tmp_path / "out" / "t"), num_shards=2)
    names = [str(tmp_path / "out" / f"t-0000{k}-of-00002.tfrecord") for k in range(2)]
    assert written == [(names[0], 3), (names[1], 2)]
    assert sorted(os.listdir(tmp_path / "out")) == [os.path.basename(n) for n in names]
    files = data.folder.list_images(folder)  # sorted: 010, sub/030, sub/050, 070, sub/090
    for k, name in enumerate(names):
        examples = [tf.train.Example.FromString(r).features.feature for r in records(name)]
        assert [e["image/encoded"].bytes_list.value[0] for e in examples] == [
            open(path, "rb").read() for path in files[k::2]
        ]
        assert [e["image/filename"].bytes_list.value[0].decode() for e in examples] == [
            os.path.relpath(path, folder) for path in files[k::2]
        ]


def test_write_shards_leaves_nothing_when_it_cannot_write(tmp_path):
    folder = solid_folder(tmp_path / "folder", LEVELS[:2])
    with pytest.raises(DataError, match=r"cannot write the TFRecord shards .*/none/t-\*: "):
        tfrecord.write_shards(folder, str(tmp_path / "none" / "t"), num_shards=2)
    assert not os.path.exists(tmp_path / "none")
    with pytest.raises(DataError, match="num_shards must be an integer >= 1, got 0"):
        tfrecord.write_shards(folder, str(tmp_path / "t"), num_shards=0)


def test_every_image_once_per_epoch_and_deterministic(shards):
    got = images_of(shards, 12 * 4)
    for epoch in np.reshape(got, (4, 12)):
        assert sorted(epoch) == LEVELS
    assert got[:12] != got[12:24]  # reshuffled each epoch
    assert images_of(shards, 12 * 4) == got
    assert images_of(shards, 12 * 4, shard=(1, 0)) == got


def test_the_iterator_resumes_where_it_was_saved(shards, tmp_path):
    def build():
        dataset = data.make_dataset(
            "tfrecord", batch_size=2, seed=0, data_pattern=shards, image_size=4
        )
        return iter(dataset)

    iterator = build()
    for _ in range(3):
        next(iterator)
    prefix = tf.train.Checkpoint(data=iterator).save(str(tmp_path / "ckpt" / "it"))
    expected = [levels_of(next(iterator)) for _ in range(4)]
    resumed = build()
    tf.train.Checkpoint(data=resumed).restore(prefix).assert_consumed()
    assert [levels_of(next(resumed)) for _ in range(4)] == expected


def test_bad_records_are_skipped_and_counted(tmp_path):
    path = str(tmp_path / "mixed.tfrecord")
    good = Image.new("L", (3, 3), 200)
    good.save(tmp_path / "good.png")
    encoded = (tmp_path / "good.png").read_bytes()
    with tf.io.TFRecordWriter(path) as writer:
        writer.write(tfrecord._example(encoded, "good.png"))
        writer.write(tfrecord._example(b"not an image", "bad.png"))
        writer.write(b"not an example")
    skipped = tf.Variable(0, dtype=tf.int64)
    assert images_of(path, 3, skipped_images=skipped) == [200, 200, 200]
    assert int(skipped.numpy()) >= 4  # two bad records in each of the first two epochs
    dataset = data.make_dataset(
        "tfrecord", batch_size=3, seed=0, data_pattern=path, on_bad_image="fail"
    )
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        next(iter(dataset))
    assert data.bad_image_message(info.value).startswith(f"cannot decode image file '{path}#")


@pytest.mark.parametrize(
    "pattern, message",
    [
        ("", "--data_pattern is required for dataset 'tfrecord': a glob of TFRecord files"),
        ("{tmp}/none-*", "no files match data_pattern '{tmp}/none-*'; allowed: a glob of"),
        ("{tmp}/empty", "the TFRecord shards matching '{tmp}/empty' hold no records"),
        ("{tmp}/a.png", "TFRecord shard '{tmp}/a.png' cannot be read as TFRecords of tf.train."),
        ("{tmp}/other", "the first record of '{tmp}/other' holds no 'image/encoded' (its featu"),
    ],
)
def test_bad_patterns_are_refused_in_one_line(tmp_path, pattern, message):
    Image.new("L", (3, 3), 1).save(tmp_path / "a.png")
    (tmp_path / "empty").write_bytes(b"")
    with tf.io.TFRecordWriter(str(tmp_path / "other")) as writer:
        writer.write(tf.train.Example().SerializeToString())
    with pytest.raises(DataError) as info:
        data.make_dataset(
            "tfrecord", batch_size=1, seed=0, data_pattern=pattern.format(tmp=tmp_path)
        )
    assert str(info.value).startswith(message.format(tmp=tmp_path))
    assert "\n" not in str(info.value)


def shard_sets(num_shards, **source):
    """The set of levels each worker's part gives over many batches."""
    parts = []
    for index in range(num_shards):
        dataset = data.make_dataset(
            batch_size=2, seed=0, image_size=4, shard=(num_shards, index), **source
        )
        parts.append(set(levels_of(np.concatenate([b.numpy() for b in dataset.take(40)]))))
    return parts


@pytest.mark.parametrize(
    "num_shards, where",
    [(2, "files"), (3, "files"), (5, "records")],  # 4 files: 5 workers split records
)
def test_tfrecord_parts_are_disjoint_and_cover_the_set(shards, num_shards, where):
    parts = shard_sets(num_shards, name="tfrecord", data_pattern=shards)
    assert sum(len(part) for part in parts) == len(LEVELS)
    assert set().union(*parts) == set(LEVELS)
    if where == "records":  # every-5th record of the file-ordered stream
        stream = []
        for path in sorted(tf.io.gfile.glob(shards)):
            for record in records(path):
                name = tf.train.Example.FromString(record).features.feature["image/filename"]
                stream.append(int(os.path.basename(name.bytes_list.value[0].decode())[:3]))
        assert parts == [set(stream[i::5]) for i in range(5)]


def test_folder_parts_are_disjoint_and_cover_the_set(tmp_path):
    folder = solid_folder(tmp_path)
    parts = shard_sets(3, name="folder", data_dir=folder)
    listing = data.folder.list_images(folder)
    assert parts == [{int(os.path.basename(p)[:3]) for p in listing[i::3]} for i in range(3)]


def test_a_tfrecord_run_in_ram_trains_and_resumes(tmp_path):
    ram = f"ram://{uuid.uuid4().hex}"
    folder = solid_folder(tmp_path)
    tfrecord.write_shards(folder, f"{ram}/data/train", num_shards=3)
    config = dict(dataset="tfrecord", data_pattern=f"{ram}/data/train-*", checkpoint_every=1)
    loop.train(tiny_image(f"{ram}/run", train_steps=1, **config))
    trainer = loop.train(tiny_image(f"{ram}/run", train_steps=2, **config))
    assert int(trainer.step.numpy()) == 2
    assert tf.io.gfile.exists(f"{ram}/run/checkpoints/ckpt-2.index")
