"""Tests for dcgan.run.workdir: config files, checkpoints and their errors, sample grids."""

import json
import os

import imageio.v3 as iio
import numpy as np
import pytest
import tensorflow as tf

from dcgan.config import Config, ConfigError
from dcgan.run.checkpoints import CheckpointError, checkpoint_damage
from dcgan.run.workdir import Workdir, WorkdirError


def run_config(path, **overrides):
    return Config(workdir=str(path), **overrides)


def index_files(workdir):
    return sorted(f for f in os.listdir(workdir.checkpoint_dir) if f.endswith(".index"))


def assert_one_line(message, *fragments):
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


@pytest.fixture
def saved(tmp_path):
    """A workdir with ckpt-1 holding v=[1, 2, 3], w=7 and ckpt-2 holding v=[4, 5, 6], w=8."""
    workdir = Workdir(str(tmp_path / "run"))
    v = tf.Variable([1.0, 2.0, 3.0])
    w = tf.Variable(7.0)
    manager = workdir.checkpoint_manager(tf.train.Checkpoint(v=v, w=w), keep=0)
    manager.save(checkpoint_number=1)
    v.assign([4.0, 5.0, 6.0])
    w.assign(8.0)
    manager.save(checkpoint_number=2)
    return workdir


# --- config files ------------------------------------------------------------------------


def test_paths(tmp_path):
    workdir = Workdir(str(tmp_path))
    assert workdir.config_path == os.path.join(str(tmp_path), "config.json")
    assert workdir.flags_path == os.path.join(str(tmp_path), "flags.txt")
    assert workdir.checkpoint_dir == os.path.join(str(tmp_path), "checkpoints")
    assert workdir.samples_dir == os.path.join(str(tmp_path), "samples")


@pytest.mark.parametrize(
    "overrides",
    [{}, {"dataset": "ring2d", "loss": "wgan-gp", "g_hidden_units": (8, 4), "g_lr": 1e-5}],
    ids=["dcgan-glyphs", "wgan-gp-ring2d"],
)
def test_save_config_round_trips(tmp_path, overrides):
    path = tmp_path / "a" / "b"  # created, parents included
    config = run_config(path, **overrides)
    workdir = Workdir(str(path))
    workdir.save_config(config)
    assert workdir.saved_config() == config
    assert Workdir(str(path)).saved_config() == config
    assert sorted(os.listdir(path)) == ["config.json", "flags.txt"]  # no .tmp left over
    with open(workdir.flags_path) as f:
        assert f.read() == config.to_flagfile()
    with open(workdir.config_path) as f:
        assert f.read() == config.to_json()


def test_save_config_overwrites(tmp_path):
    workdir = Workdir(str(tmp_path))
    workdir.save_config(run_config(tmp_path, train_steps=10))
    second = run_config(tmp_path, train_steps=20)
    workdir.save_config(second)
    assert workdir.saved_config() == second
    with open(workdir.flags_path) as f:
        assert "--train_steps=20\n" in f.read()


def test_saved_config_is_none_for_a_new_workdir(tmp_path):
    assert Workdir(str(tmp_path)).saved_config() is None
    assert Workdir(str(tmp_path / "missing")).saved_config() is None


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("{not json", "is not a valid dcgan config"),
        ("", "is not a valid dcgan config"),
        ("[]", "is not a valid dcgan config"),
        ("null", "is not a valid dcgan config"),
        ('{"batch_size": 64}', "is not a valid dcgan config"),  # workdir missing
        ('{"workdir": "w", "nope": 1}', "unknown config fields ['nope']"),
        ('{"workdir": "w", "batch_size": 0}', "--batch_size=0 is invalid"),
    ],
    ids=["syntax", "empty", "list", "null", "missing-field", "unknown-field", "bad-value"],
)
def test_corrupt_config_raises_config_error_with_path(tmp_path, text, fragment):
    workdir = Workdir(str(tmp_path))
    with open(workdir.config_path, "w") as f:
        f.write(text)
    with pytest.raises(ConfigError) as excinfo:
        workdir.saved_config()
    message = str(excinfo.value)
    assert message.startswith(f"{workdir.config_path} is not a valid dcgan config: ")
    assert_one_line(message, fragment)


def test_saved_config_reads_a_hand_written_json(tmp_path):
    workdir = Workdir(str(tmp_path))
    values = json.loads(run_config(tmp_path).to_json())
    values["d_hidden_units"] = [3, 2]
    values["dataset"] = "grid2d"
    with open(workdir.config_path, "w") as f:
        json.dump(values, f)
    config = workdir.saved_config()
    assert config.dataset == "grid2d"
    assert config.d_hidden_units == (3, 2)


def test_check_writable_accepts_a_new_path_and_leaves_nothing_behind(tmp_path):
    Workdir(str(tmp_path / "a" / "b")).check_writable()
    assert os.listdir(tmp_path) == []


def test_check_writable_accepts_an_existing_run_and_changes_nothing(tmp_path):
    workdir = Workdir(str(tmp_path))
    workdir.save_config(run_config(tmp_path))
    workdir.check_writable()
    assert sorted(os.listdir(tmp_path)) == ["config.json", "flags.txt"]


def test_check_writable_refuses_a_path_under_a_regular_file(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    path = str(tmp_path / "file" / "w")
    with pytest.raises(WorkdirError) as excinfo:
        Workdir(path).check_writable()
    assert str(excinfo.value) == (
        f"--workdir={path} cannot be created: [Errno 20] Not a directory: '{path}'; allowed: "
        "a writable directory, or a new path in one"
    )
    assert os.listdir(tmp_path) == ["file"]


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs a /proc file system")
def test_check_writable_refuses_a_path_in_proc():
    with pytest.raises(WorkdirError) as excinfo:
        Workdir("/proc/x/y").check_writable()
    assert_one_line(
        str(excinfo.value), "--workdir=/proc/x/y cannot be created: [Errno 2] No such file"
    )


# --- checkpoint manager ------------------------------------------------------------------


@pytest.mark.parametrize(
    "keep, saves, kept",
    [
        (2, 4, [3, 4]),
        (1, 4, [4]),
        (0, 4, [1, 2, 3, 4]),
        # More than tf.train.CheckpointManager's usual default of 5: 0 really means all.
        (0, 7, [1, 2, 3, 4, 5, 6, 7]),
    ],
)
def test_checkpoint_manager_keeps_the_last_ones(tmp_path, keep, saves, kept):
    expected = [f"ckpt-{step}.index" for step in kept]
    workdir = Workdir(str(tmp_path))
    v = tf.Variable(0.0)
    manager = workdir.checkpoint_manager(tf.train.Checkpoint(v=v), keep=keep)
    for step in range(1, saves + 1):
        v.assign(float(step))
        path = manager.save(checkpoint_number=step)
        assert path == os.path.join(workdir.checkpoint_dir, f"ckpt-{step}")
    assert index_files(workdir) == expected
    assert [os.path.basename(p) + ".index" for p in manager.checkpoints] == expected
    assert workdir.latest_checkpoint() == os.path.join(workdir.checkpoint_dir, f"ckpt-{saves}")


# --- restore -----------------------------------------------------------------------------


def test_restore_returns_none_without_checkpoints(tmp_path):
    v = tf.Variable(5.0)
    assert Workdir(str(tmp_path)).restore(tf.train.Checkpoint(v=v)) is None
    assert Workdir(str(tmp_path / "missing")).restore(tf.train.Checkpoint(v=v)) is None
    assert v.numpy() == 5.0


def test_restore_latest(saved):
    v, w = tf.Variable([0.0, 0.0, 0.0]), tf.Variable(0.0)
    path = saved.restore(tf.train.Checkpoint(v=v, w=w))
    assert path == os.path.join(saved.checkpoint_dir, "ckpt-2")
    np.testing.assert_array_equal(v.numpy(), [4.0, 5.0, 6.0])
    assert w.numpy() == 8.0


def test_restore_a_specific_older_checkpoint(saved):
    v, w = tf.Variable([0.0, 0.0, 0.0]), tf.Variable(0.0)
    older = os.path.join(saved.checkpoint_dir, "ckpt-1")
    assert saved.restore(tf.train.Checkpoint(v=v, w=w), path=older) == older
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0, 3.0])
    assert w.numpy() == 7.0


def test_restore_missing_explicit_path(saved):
    missing = os.path.join(saved.checkpoint_dir, "ckpt-9")
    v, w = tf.Variable([0.0, 0.0, 0.0]), tf.Variable(0.0)
    with pytest.raises(CheckpointError) as excinfo:
        saved.restore(tf.train.Checkpoint(v=v, w=w), path=missing)
    assert_one_line(str(excinfo.value), f"no checkpoint at {missing} (expected {missing}.index)")


def test_restore_missing_explicit_path_in_an_empty_workdir(tmp_path):
    missing = str(tmp_path / "elsewhere" / "ckpt-1")
    with pytest.raises(CheckpointError) as excinfo:
        Workdir(str(tmp_path)).restore(tf.train.Checkpoint(v=tf.Variable(0.0)), path=missing)
    assert_one_line(str(excinfo.value), f"no checkpoint at {missing}")


def _mismatch_message(saved, checkpoint, **kwargs):
    with pytest.raises(CheckpointError) as excinfo:
        saved.restore(checkpoint, **kwargs)
    message = str(excinfo.value)
    latest = os.path.join(saved.checkpoint_dir, "ckpt-2")
    assert_one_line(
        message,
        f"checkpoint {latest} does not match the networks built from this config (",
        "use the config it was trained with or a new --workdir",
    )
    return message


def test_restore_shape_mismatch(saved):
    message = _mismatch_message(
        saved, tf.train.Checkpoint(v=tf.Variable([0.0, 0.0]), w=tf.Variable(0.0))
    )
    assert "(3,)" in message and "(2,)" in message


def test_restore_shape_mismatch_even_when_partial(saved):
    _mismatch_message(saved, tf.train.Checkpoint(v=tf.Variable(tf.zeros([3, 1]))), partial=True)


def test_restore_object_missing_from_the_file(saved):
    checkpoint = tf.train.Checkpoint(
        v=tf.Variable([0.0, 0.0, 0.0]), w=tf.Variable(0.0), extra=tf.Variable(0.0)
    )
    _mismatch_message(saved, checkpoint)


def test_restore_object_missing_from_the_file_when_partial(saved):
    checkpoint = tf.train.Checkpoint(v=tf.Variable([0.0, 0.0, 0.0]), extra=tf.Variable(0.0))
    _mismatch_message(saved, checkpoint, partial=True)


def test_restore_extra_object_in_the_file(saved):
    _mismatch_message(saved, tf.train.Checkpoint(v=tf.Variable([0.0, 0.0, 0.0])))


def test_restore_partial_restores_a_subset(saved):
    v = tf.Variable([0.0, 0.0, 0.0])
    path = saved.restore(tf.train.Checkpoint(v=v), partial=True)
    assert path == os.path.join(saved.checkpoint_dir, "ckpt-2")
    np.testing.assert_array_equal(v.numpy(), [4.0, 5.0, 6.0])
    w = tf.Variable(0.0)
    older = os.path.join(saved.checkpoint_dir, "ckpt-1")
    assert saved.restore(tf.train.Checkpoint(w=w), path=older, partial=True) == older
    assert w.numpy() == 7.0


def test_restore_unreadable_index(saved):
    latest = os.path.join(saved.checkpoint_dir, "ckpt-2")
    with open(f"{latest}.index", "wb") as f:
        f.write(b"this is not a checkpoint index")
    v, w = tf.Variable([0.0, 0.0, 0.0]), tf.Variable(0.0)
    with pytest.raises(CheckpointError) as excinfo:
        saved.restore(tf.train.Checkpoint(v=v, w=w))
    assert_one_line(
        str(excinfo.value),
        f"checkpoint {latest} cannot be read: it is damaged (",
        f"intact checkpoints in {saved.checkpoint_dir}: ckpt-1;",
    )


def restore_error(saved, checkpoint=None, **kwargs):
    """The message of the CheckpointError ``saved.restore`` raises; default objects: v, w."""
    if checkpoint is None:
        checkpoint = tf.train.Checkpoint(v=tf.Variable([0.0, 0.0, 0.0]), w=tf.Variable(0.0))
    with pytest.raises(CheckpointError) as excinfo:
        saved.restore(checkpoint, **kwargs)
    return str(excinfo.value)


def truncate_data(prefix):
    path = f"{prefix}.data-00000-of-00001"
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) - 1)


def test_restore_of_a_truncated_checkpoint_says_which_files_to_move_for_training(saved):
    latest = os.path.join(saved.checkpoint_dir, "ckpt-2")
    truncate_data(latest)
    assert restore_error(saved) == (
        f"checkpoint {latest} cannot be read: it is damaged (Read less bytes than requested); "
        f"intact checkpoints in {saved.checkpoint_dir}: ckpt-1; to resume from ckpt-1, move "
        f"aside or delete {latest}.*"
    )


def test_restore_of_a_truncated_checkpoint_offers_the_intact_ones_to_choose(saved):
    checkpoints = saved.checkpoint_dir
    v = tf.Variable([0.0, 0.0, 0.0])
    manager = saved.checkpoint_manager(tf.train.Checkpoint(v=v, w=tf.Variable(0.0)), keep=0)
    manager.save(checkpoint_number=3)
    truncate_data(os.path.join(checkpoints, "ckpt-2"))
    message = restore_error(
        saved,
        tf.train.Checkpoint(v=v),
        path=os.path.join(checkpoints, "ckpt-2"),
        partial=True,
        choose_with="--checkpoint",
    )
    assert message == (
        f"checkpoint {checkpoints}/ckpt-2 cannot be read: it is damaged (Read less bytes than "
        f"requested); intact checkpoints in {checkpoints}: ckpt-1, ckpt-3; pick one with "
        f"--checkpoint, e.g. --checkpoint={checkpoints}/ckpt-3"
    )


def test_training_is_told_to_move_every_damaged_checkpoint_after_the_newest_intact(saved):
    checkpoints = saved.checkpoint_dir
    manager = saved.checkpoint_manager(
        tf.train.Checkpoint(v=tf.Variable([0.0, 0.0, 0.0]), w=tf.Variable(0.0)), keep=0
    )
    manager.save(checkpoint_number=3)
    truncate_data(os.path.join(checkpoints, "ckpt-2"))
    truncate_data(os.path.join(checkpoints, "ckpt-3"))
    assert restore_error(saved).endswith(
        f"intact checkpoints in {checkpoints}: ckpt-1; to resume from ckpt-1, move aside or "
        f"delete {checkpoints}/ckpt-2.* and {checkpoints}/ckpt-3.*"
    )


def test_no_intact_checkpoint_left(saved):
    for step in (1, 2):
        truncate_data(os.path.join(saved.checkpoint_dir, f"ckpt-{step}"))
    assert restore_error(saved).endswith(
        f"; {saved.checkpoint_dir} holds no intact checkpoint: restore its files from a copy, "
        "or train in a new --workdir"
    )


def test_checkpoint_damage_reads_every_tensor(saved):
    latest = os.path.join(saved.checkpoint_dir, "ckpt-2")
    assert checkpoint_damage(latest) is None
    with open(f"{latest}.data-00000-of-00001", "r+b") as f:
        data = f.read()
        f.seek(0)  # one flipped byte: the length stays right, only a checksum tells
        f.write(bytes([data[0] ^ 0xFF]))
    assert "Checksum does not match" in checkpoint_damage(latest)
    assert checkpoint_damage(os.path.join(saved.checkpoint_dir, "ckpt-1")) is None


def test_latest_checkpoint_looks_past_deleted_files(saved):
    # How a user gets past a damaged latest checkpoint; TensorFlow alone would find none.
    for name in os.listdir(saved.checkpoint_dir):
        if name.startswith("ckpt-2."):
            os.remove(os.path.join(saved.checkpoint_dir, name))
    older = os.path.join(saved.checkpoint_dir, "ckpt-1")
    assert saved.latest_checkpoint() == older
    w = tf.Variable(0.0)
    assert saved.restore(tf.train.Checkpoint(v=tf.Variable([0.0, 0.0, 0.0]), w=w)) == older
    assert w.numpy() == 7.0


# --- samples -----------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3])
def test_write_sample_grid(tmp_path, channels):
    workdir = Workdir(str(tmp_path / "run"))
    grid = np.random.default_rng(0).integers(0, 256, size=(10, 14, channels), dtype=np.uint8)
    path = workdir.write_sample_grid(7, grid)
    assert path == os.path.join(str(tmp_path), "run", "samples", "step_00000007.png")
    assert os.listdir(workdir.samples_dir) == ["step_00000007.png"]
    read = iio.imread(path)
    np.testing.assert_array_equal(read, grid[..., 0] if channels == 1 else grid)


def test_write_sample_grid_pads_steps_to_eight_digits(tmp_path):
    workdir = Workdir(str(tmp_path))
    grid = np.zeros((4, 4, 1), dtype=np.uint8)
    for step in (1000, 20, 123456789):
        workdir.write_sample_grid(step, grid)
    assert sorted(os.listdir(workdir.samples_dir)) == [
        "step_00000020.png",
        "step_00001000.png",
        "step_123456789.png",
    ]
