"""Faults a hostile but realistic user meets: unusable data, signals while the run is stuck,
a lost checkpoint index, damaged shards, kills at any point, and one-line errors.

Whatever could hang runs in a child process with a hard timeout of its own.
"""

import dataclasses
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import zipfile

import numpy as np
import pytest
import tensorflow as tf
from configs import tiny_image
from PIL import Image
from runner import CHILD_TIMEOUT, ROOT, log_line, program_stderr, run_batch, run_module

from dcgan.config import Config, ConfigError
from dcgan.data import tfrecord
from dcgan.data.common import DataError
from dcgan.distribute import devices
from dcgan.evaluation import features
from dcgan.run import loop, signals
from dcgan.run.checkpoints import checkpoint_damage
from dcgan.run.workdir import Workdir

TINY = [
    "--dataset=glyphs",
    "--image_size=28",
    "--latent_dim=8",
    "--g_base_width=4",
    "--d_base_width=4",
    "--batch_size=8",
    "--grid_size=2",
]
# The watchdog of dcgan.run.signals ends a run that does not answer a signal this fast.
FAST_STOP = {"DCGAN_STOP_SECONDS": "3"}


def one_line(result, status):
    """The program's one error line, after checking the exit status. (TensorFlow's threads
    may still log a failed read after it, so it need not be the last.)"""
    assert result.returncode == status, result.stderr[-2000:]
    lines = [line for line in program_stderr(result) if line.startswith("dcgan.train: ")]
    assert len(lines) == 1, result.stderr[-2000:]
    assert len(lines[0]) <= 300, lines[0]
    return lines[0]


def png_folder(root, count):
    os.makedirs(root, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        pixels = rng.integers(0, 256, (28, 28), dtype=np.uint8)
        Image.fromarray(pixels).save(os.path.join(root, f"{i:03d}.png"))


# --- input that yields no usable example ------------------------------------------------


@pytest.fixture(scope="module")
def undecodable(tmp_path_factory):
    """``python -m dcgan.train`` on a folder and on TFRecords with no image that decodes,
    run in one child process (``runner.run_batch``): {case: (result, workdir, data)}."""
    tmp = tmp_path_factory.mktemp("undecodable")
    folder = tmp / "images"
    folder.mkdir()
    for i in range(20):
        path = folder / f"{i:02d}.jpg"
        if i % 2:
            path.write_bytes(os.urandom(300))  # not an image
        else:
            os.symlink(path.name, path)  # points at itself: every read fails
    (tmp / "junk").mkdir()
    for i in range(20):
        (tmp / "junk" / f"{i:02d}.jpg").write_bytes(os.urandom(200))
    ((shard, _),) = tfrecord.write_shards(str(tmp / "junk"), str(tmp / "t"), num_shards=1)
    cases = {
        "folder": (tmp / "folder-run", ["--dataset=folder", f"--data_dir={folder}"], folder),
        "tfrecord": (
            tmp / "tfrecord-run",
            ["--dataset=tfrecord", f"--data_pattern={shard}"],
            shard,
        ),
    }
    argvs = [
        [f"--workdir={workdir}", *data, *TINY[1:], "--train_steps=5"]
        for workdir, data, _ in cases.values()
    ]
    results = run_batch("dcgan.train", argvs, timeout=180)
    return {
        case: (result, workdir, source)
        for (case, (workdir, _, source)), result in zip(cases.items(), results, strict=True)
    }


def test_a_folder_with_nothing_decodable_ends_in_one_line_and_writes_nothing(undecodable):
    result, workdir, _ = undecodable["folder"]
    line = one_line(result, 1)
    assert "no image could be decoded: the last 20 image files read under" in line
    assert "(a whole pass) all failed" in line
    assert not workdir.exists()  # refused before anything was written


def test_tfrecords_whose_records_hold_no_image_end_in_one_line(undecodable):
    result, _, shard = undecodable["tfrecord"]
    line = one_line(result, 1)
    assert f"the last 1000 records read from '{shard}' all failed" in line


def test_a_truncated_shard_is_counted_like_a_bad_image_or_named_by_fail(tmp_path):
    png_folder(tmp_path / "images", 20)
    prefix = str(tmp_path / "shard")
    ((path, records),) = tfrecord.write_shards(str(tmp_path / "images"), prefix, num_shards=1)
    whole = open(path, "rb").read()
    # Cut inside record 13 (the 20 records are of one size): 12 whole records are left.
    # (A cut between two records leaves a shorter valid file: no reader can tell.)
    open(path, "wb").write(whole[: int(len(whole) * 0.6) + 7])
    config = tiny_image(
        tmp_path / "run",
        dataset="tfrecord",
        data_pattern=path,
        train_steps=6,
        log_every=6,
        checkpoint_every=6,
        image_every=100,
    )
    trainer = loop.train(config)
    assert int(trainer.step.numpy()) == 6
    # 48 images read: 4 passes over the 12 whole records, each pass ending in the cut.
    skipped = tf.train.load_checkpoint(str(tmp_path / "run" / "checkpoints" / "ckpt-6"))
    assert skipped.get_tensor("data_skipped_images/.ATTRIBUTES/VARIABLE_VALUE") >= 4
    fail = dataclasses.replace(config, workdir=str(tmp_path / "fail"), on_bad_image="fail")
    with pytest.raises(DataError, match=r"cut short or corrupt: records end at byte \d+ of"):
        loop.train(fail)


# --- signals in every phase --------------------------------------------------------------


def fifo_folder(root, count=10):
    """Image names that are FIFOs: reading one blocks forever, as a stalled mount does."""
    os.makedirs(root)
    for i in range(count):
        os.mkfifo(os.path.join(root, f"{i}.png"))


def blocked_on(fifos, timeout=120):
    """Waits until a reader has opened one of ``fifos``; returns its write end, kept
    open (and empty) so that the reader stays blocked."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for fifo in fifos:
            try:
                return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: no reader yet
                pass
        time.sleep(0.05)
    raise AssertionError("the run never read its input")


@pytest.mark.parametrize("names", [["SIGTERM"], ["SIGINT", "SIGINT"]], ids=["term", "int-int"])
def test_a_signal_ends_a_run_stuck_on_its_input_within_seconds(tmp_path, names):
    """The run is stuck reading its data while starting: no Python runs to handle a
    signal. The watchdog ends it 3 s after the first signal, or at a second one."""
    fifo_folder(tmp_path / "stalled")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dcgan.train",
            f"--workdir={tmp_path / 'run'}",
            "--dataset=folder",
            f"--data_dir={tmp_path / 'stalled'}",
            *TINY[1:],
            "--train_steps=5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, **FAST_STOP},
    )
    fifos = [str(tmp_path / "stalled" / name) for name in os.listdir(tmp_path / "stalled")]
    writer = blocked_on(fifos)
    try:
        sent = time.monotonic()
        for name in names:
            process.send_signal(getattr(signal, name))
            time.sleep(0.5)
        out, err = process.communicate(timeout=CHILD_TIMEOUT)
    finally:
        process.kill()
        os.close(writer)
    last = err.strip().splitlines()[-1]
    if len(names) == 2:
        assert time.monotonic() - sent < 2.5  # before the 3 s of the first
        assert last == "second signal (SIGINT): aborting without saving"
    else:
        assert time.monotonic() - sent < 15
        assert last.startswith("got SIGTERM, but the run did not stop within 3 s (it was starting")
        assert last.endswith("exiting without saving; nothing saved")
    assert process.returncode == 128 + getattr(signal, names[-1]), err[-2000:]
    assert not (tmp_path / "run").exists()


def test_sigint_while_starting_stops_at_once_and_saves_nothing(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "dcgan.train", f"--workdir={tmp_path / 'run'}", *TINY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    # The flags are parsed and TensorFlow is loading: no training has started.
    time.sleep(2)
    process.send_signal(signal.SIGINT)
    try:
        out, err = process.communicate(timeout=CHILD_TIMEOUT)
    finally:
        process.kill()
    assert "starting at step" not in out
    assert process.returncode == 128 + signal.SIGINT, err[-2000:]
    assert err.strip().splitlines()[-1] == (
        "dcgan.train: stopped by SIGINT while starting; nothing saved"
    )
    assert not (tmp_path / "run").exists()


def test_a_stop_while_starting_passes_through_a_library_that_catches_every_exception():
    # As TensorFlow loads, inspect.getfullargspec turns any Exception into its own
    # TypeError; a user's stop must not become that error.
    with pytest.raises(signals.RunStopped, match="stopped by SIGINT while starting"):
        with signals.stop_on_signals():
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(5)  # the handler runs here, at once
            except Exception as e:
                raise TypeError("unsupported callable") from e


# --- a lost or stale checkpoint index ----------------------------------------------------


def file_hashes(directory):
    if not os.path.isdir(directory):
        return {}
    return {
        name: hashlib.sha256(open(os.path.join(directory, name), "rb").read()).hexdigest()
        for name in sorted(os.listdir(directory))
        if name.startswith("ckpt-") and os.path.isfile(os.path.join(directory, name))
    }


@pytest.fixture(scope="module")
def four_steps(tmp_path_factory):
    """A run saved at steps 2 and 4, its checkpoint files' hashes."""
    workdir = tmp_path_factory.mktemp("four") / "run"
    config = tiny_image(workdir, train_steps=4, checkpoint_every=2, log_every=100, image_every=100)
    loop.train(config)
    return config, file_hashes(workdir / "checkpoints")


@pytest.mark.parametrize("damage", ["deleted", "garbled", "stale"])
def test_a_lost_or_stale_index_resumes_from_the_newest_intact_checkpoint(
    four_steps, tmp_path, damage, capsys
):
    config, hashes = four_steps
    workdir = tmp_path / "run"
    shutil.copytree(config.workdir, workdir)
    index = workdir / "checkpoints" / "checkpoint"
    if damage == "deleted":
        index.unlink()
    elif damage == "garbled":
        index.write_text("model_checkpoint_path: {{{ garbled")
    else:  # the process ended after writing ckpt-4, before listing it
        text = index.read_text().replace('"ckpt-4"', '"ckpt-2"')
        index.write_text(text)
    capsys.readouterr()
    trainer = loop.train(dataclasses.replace(config, workdir=str(workdir), train_steps=6))
    out = capsys.readouterr().out
    assert "resuming from step 4" in out
    why = {
        "deleted": f"its index {index} is missing",
        "garbled": f"its index {index} cannot be read",
        "stale": "its index does not list it (a run ended while saving it)",
    }[damage]
    assert f"ckpt-4, the newest intact checkpoint found by listing the files: {why}\n" in out
    assert int(trainer.step.numpy()) == 6
    after = file_hashes(workdir / "checkpoints")
    assert {name: after[name] for name in hashes} == hashes  # none written again


def test_a_checkpoint_cut_short_is_passed_over(four_steps, tmp_path, capsys):
    config, _ = four_steps
    workdir = tmp_path / "run"
    shutil.copytree(config.workdir, workdir)
    (workdir / "checkpoints" / "checkpoint").unlink()
    data = workdir / "checkpoints" / "ckpt-4.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:100])  # the process ended while writing it
    assert checkpoint_damage(str(workdir / "checkpoints" / "ckpt-4")) is not None
    assert Workdir(str(workdir)).find_latest_checkpoint()[0].endswith("ckpt-2")


# --- kills at any point: resume bit for bit, never change a saved checkpoint -------------

KILL_RUN = [*TINY, "--train_steps=8", "--checkpoint_every=1", "--keep_checkpoints=0"]
KILL_RUN += ["--log_every=1", "--image_every=1000", "--deterministic", "--n_critic=2"]


class Child:
    """A training process whose stdout lines are read as they come."""

    def __init__(self, workdir):
        self.workdir = str(workdir)
        self.lines = []
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-m", "dcgan.train", f"--workdir={workdir}", *KILL_RUN],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(log_line(line))

    def names(self):
        try:
            return os.listdir(os.path.join(self.workdir, "checkpoints"))
        except FileNotFoundError:
            return []

    def kill_when(self, condition, timeout=240):
        """SIGKILLs the process once ``condition(self)`` holds; False if it ended first."""
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            if condition(self):
                self.process.kill()
                self.process.wait()
                return True
            time.sleep(0.001)
        self.process.kill()
        self.process.wait()
        return False


def intact_checkpoint_files(workdir):
    directory = os.path.join(workdir, "checkpoints")
    hashes = file_hashes(directory)
    prefixes = {name.split(".")[0] for name in hashes}
    intact = {p for p in prefixes if checkpoint_damage(os.path.join(directory, p)) is None}
    return {name: h for name, h in hashes.items() if name.split(".")[0] in intact}


def final_tensors(workdir):
    reader = tf.train.load_checkpoint(os.path.join(workdir, "checkpoints", "ckpt-8"))
    names = [n for n in reader.get_variable_to_dtype_map() if not n.startswith("save_counter")]
    return {name: reader.get_tensor(name) for name in names if not name.startswith("data/")}


def test_sigkill_at_any_point_then_resume_equals_an_uninterrupted_run(tmp_path):
    reference = Child(tmp_path / "straight")  # runs alongside: only its end is read
    workdir = tmp_path / "killed"
    kill_points = [
        ("while starting", lambda c: time.sleep(1.5) or True),
        # TensorFlow writes a checkpoint into ckpt-N_temp/, then moves it into place.
        ("while writing ckpt-2", lambda c: "ckpt-2_temp" in c.names()),
        ("with ckpt-3 written, maybe not listed", lambda c: "ckpt-3.index" in c.names()),
        # A run resumed from ckpt-3 (or ckpt-2) killed between its saves. A kill inside a
        # later write is the ckpt-2 case again: ckpt-1 was listed before it as well.
        ("in step 5", lambda c: any(line.startswith("step 4/") for line in c.lines)),
    ]
    saved = {}
    for what, condition in kill_points:
        child = Child(workdir)
        assert child.kill_when(condition), f"the run ended before the kill {what}"
        now = intact_checkpoint_files(workdir)
        for name, digest in saved.items():  # what was whole before stays as it was
            assert now[name] == digest, (what, name)
        if what == "while writing ckpt-2":
            assert "ckpt-2.index" not in now  # killed inside the write: never listed
        saved.update(now)
    last = Child(workdir)
    assert last.process.wait(timeout=240) == 0
    assert reference.process.wait(timeout=240) == 0
    assert any(line.startswith("done at step 8") for line in last.lines)
    assert {n: d for n, d in intact_checkpoint_files(workdir).items() if n in saved} == saved
    expected, got = final_tensors(reference.workdir), final_tensors(workdir)
    assert set(got) == set(expected)
    for name, value in expected.items():
        np.testing.assert_array_equal(got[name], value, err_msg=name)


# --- tracebacks that are one line --------------------------------------------------------


def test_an_unknown_device_is_one_line():
    with pytest.raises(devices.DistributeError) as info:
        devices.make_strategy("mirrored", devices=("banana",))
    assert str(info.value) == (
        "--devices=banana: 'banana' is not a device name; allowed: names like /gpu:0 or "
        "/cpu:1, comma-separated"
    )


def test_a_tpu_name_that_does_not_resolve_is_one_line(monkeypatch):
    def resolver(tpu):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(tf.distribute.cluster_resolver, "TPUClusterResolver", resolver)
    with pytest.raises(devices.DistributeError, match=r"--tpu=my-tpu cannot be used \("):
        devices.make_strategy("tpu", tpu="my-tpu")


def test_a_worker_whose_port_is_taken_is_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cluster = {"worker": [f"127.0.0.1:{port}", "127.0.0.1:1"]}
        env = {
            "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 0}})
        }
        result = run_module(
            "dcgan.train",
            f"--workdir={tmp_path / 'run'}",
            "--strategy=multi_worker",
            "--dataset=ring2d",
            "--train_steps=2",
            env=env,
            timeout=CHILD_TIMEOUT,
        )
    line = one_line(result, 2)
    assert line == (
        f"dcgan.train: error: --strategy=multi_worker cannot start this worker (worker 0 at "
        f"127.0.0.1:{port} in TF_CONFIG): Could not start gRPC server; allowed: an address "
        "whose port is free on this machine"
    )


def test_a_zip_that_is_no_keras_model_is_one_short_line(tmp_path):
    path = str(tmp_path / "model.keras")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not a model")
    with pytest.raises(features.EvaluationError) as info:
        features.classifier_extractor(path)
    message = str(info.value)
    assert message.startswith(f"cannot load a Keras model from {path} (KeyError: ")
    assert "\n" not in message and len(message) <= 300


def test_a_config_json_that_is_a_directory_is_refused_and_left_alone(tmp_path):
    (tmp_path / "config.json").mkdir()
    with pytest.raises(ConfigError) as info:
        Workdir(str(tmp_path)).saved_config()
    assert str(info.value).startswith(f"{tmp_path}/config.json is a directory, not the run's")
    assert (tmp_path / "config.json").is_dir()


def test_an_unknown_config_field_is_named_in_a_short_line():
    values = json.loads(Config(workdir="w").to_json())
    values["learning_rate"] = 0.1
    with pytest.raises(ConfigError) as info:
        Config.from_json(json.dumps(values))
    message = str(info.value)
    assert message.startswith("unknown config fields ['learning_rate']")
    assert len(message) <= 300
