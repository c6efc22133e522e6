"""Tests for dcgan.io.storage and the non-local code path, on TensorFlow's in-memory ram://.

ram:// lives only inside this process, so everything here runs in-process; each test
uses its own ram:// folder (the file system outlives a test).
"""

import io
import json
import uuid

import imageio.v3 as iio
import numpy as np
import pytest
import tensorflow as tf
from configs import tiny_image
from PIL import Image

from dcgan import data
from dcgan.io import images, storage
from dcgan.run import loop
from dcgan.run.workdir import Workdir, WorkdirError


@pytest.fixture
def ram():
    """A fresh ram:// folder name (not yet created)."""
    return f"ram://{uuid.uuid4().hex}"


def ram_files(root):
    """Every file under ``root``, relative to it, sorted."""
    return sorted(
        f"{directory[len(root) + 1 :]}/{name}".lstrip("/")
        for directory, _, files in tf.io.gfile.walk(root)
        for name in files
    )


@pytest.mark.parametrize(
    "path, local, parent",
    [
        ("runs/a", True, None),
        ("gs://bucket/runs/a", False, "gs://bucket/runs"),
        ("gs://bucket/a.png", False, "gs://bucket"),
        ("ram://a.png", False, "ram://"),
    ],
)
def test_is_local_and_parent(path, local, parent, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert storage.is_local(path) is local
    assert storage.parent(path) == (parent or str(tmp_path / "runs"))
    assert storage.absolute(path) == (str(tmp_path / path) if local else path)


def test_write_bytes_is_atomic_and_replaces(ram):
    path = f"{ram}/d/f.bin"
    tf.io.gfile.makedirs(f"{ram}/d")
    storage.write_bytes(path, b"one")
    storage.write_text(path, "twö")
    assert storage.read_bytes(path) == "twö".encode()
    assert ram_files(ram) == ["d/f.bin"]  # no .tmp left


def test_write_png_and_gif_through_gfile(ram):
    tf.io.gfile.makedirs(ram)
    grid = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 10
    images.write_png(f"{ram}/g.png", grid)
    np.testing.assert_array_equal(iio.imread(storage.read_bytes(f"{ram}/g.png")), grid)
    images.write_gif(f"{ram}/g.gif", [grid, grid[::-1]])
    assert iio.imread(storage.read_bytes(f"{ram}/g.gif"), index=None).shape == (2, 2, 3, 3)


def test_check_writable_makes_nothing_and_leaves_nothing(ram):
    Workdir(f"{ram}/a/b/run").check_writable()
    assert not tf.io.gfile.exists(ram)
    tf.io.gfile.makedirs(f"{ram}/run")
    Workdir(f"{ram}/run").check_writable()
    assert tf.io.gfile.listdir(f"{ram}/run") == []


def test_check_writable_refuses_an_unwritable_scheme():
    # No file system is registered for this scheme: the probe write fails.
    with pytest.raises(WorkdirError) as info:
        Workdir("nosuchfs://bucket/run").check_writable()
    assert str(info.value) == (
        "--workdir=nosuchfs://bucket/run cannot be written: File system scheme 'nosuchfs' "
        "not implemented (file: 'nosuchfs://bucket/run'); allowed: a writable directory, or "
        "a new path in one"
    )


def test_a_run_in_ram_trains_resumes_and_writes_its_files(ram):
    workdir = f"{ram}/run"
    every = dict(checkpoint_every=2, image_every=2, summary_every=1, log_every=2)
    loop.train(tiny_image(workdir, train_steps=2, **every))
    trainer = loop.train(tiny_image(workdir, train_steps=4, **every))
    assert int(trainer.step.numpy()) == 4  # resumed at 2, not started over
    files = ram_files(workdir)
    assert {"config.json", "flags.txt"} <= set(files)
    assert json.loads(storage.read_text(f"{workdir}/config.json"))["train_steps"] == 4
    assert {"samples/step_00000002.png", "samples/step_00000004.png"} <= set(files)
    assert {"checkpoints/ckpt-2.index", "checkpoints/ckpt-4.index"} <= set(files)
    events = [name for name in files if name.startswith("events.out.tfevents.")]
    assert len(events) == 2  # one file per session
    steps = {
        event.step
        for name in events
        for event in tf.compat.v1.train.summary_iterator(f"{workdir}/{name}")
        if any(value.tag == "loss/g_loss" for value in event.summary.value)
    }
    assert steps == {1, 2, 3, 4}
    grid = iio.imread(storage.read_bytes(f"{workdir}/samples/step_00000004.png"))
    assert grid.shape == (2 * 30 + 2, 2 * 30 + 2)  # 2x2 grid of 28 px, 2 px padding


def write_png_levels(root, levels):
    """One solid gray PNG per level, named by level, written through gfile."""
    for level in levels:
        encoded = io.BytesIO()
        Image.new("L", (6, 5), level).save(encoded, format="PNG")
        storage.write_bytes(f"{root}/sub/{level:03d}.png", encoded.getvalue())


def test_folder_in_ram_is_listed_and_read(ram):
    tf.io.gfile.makedirs(f"{ram}/sub")
    levels = [10, 60, 110, 160, 210]
    write_png_levels(ram, levels)
    storage.write_bytes(f"{ram}/sub/.hidden.png", b"junk")  # skipped: a hidden name
    storage.write_bytes(f"{ram}/notes.txt", b"junk")  # skipped: not an image
    assert data.folder.list_images(ram) == [f"{ram}/sub/{level:03d}.png" for level in levels]
    dataset = data.make_dataset("folder", batch_size=5, seed=0, data_dir=ram, image_size=4)
    (batch,) = [b.numpy() for b in dataset.take(1)]  # one epoch: every image once
    np.testing.assert_allclose(sorted((batch.reshape(5, -1).mean(1) + 1) * 127.5), levels)


def test_folder_cache_file_in_ram_is_written_and_reused(ram):
    tf.io.gfile.makedirs(f"{ram}/sub")
    write_png_levels(ram, [30, 90])
    cache = f"{ram}/cache/set.npy"
    options = dict(batch_size=2, seed=0, data_dir=ram, image_size=4, cache=cache)
    first = next(iter(data.make_dataset("folder", **options))).numpy()
    with tf.io.gfile.GFile(cache, "rb") as f:
        stored = np.load(f)
    np.testing.assert_array_equal(np.sort(stored.reshape(2, -1).mean(1)), [30, 90])
    # New pixels under the same names: the cache, keyed by the listing, still holds 30.
    storage.write_bytes(f"{ram}/sub/030.png", storage.read_bytes(f"{ram}/sub/090.png"))
    second = next(iter(data.make_dataset("folder", **options))).numpy()
    np.testing.assert_array_equal(second, first)


def test_missing_folder_in_ram(ram):
    with pytest.raises(data.DataError, match=f"data_dir '{ram}/none' does not exist"):
        data.make_dataset("folder", batch_size=1, seed=0, data_dir=f"{ram}/none")
