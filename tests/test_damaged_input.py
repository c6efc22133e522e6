"""Entry points given a workdir they cannot use: one error line, status 1, nothing changed."""

import hashlib
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from configs import from_flags, tiny_image
from runner import ROOT, run_module

from dcgan.run import loop

ALLOWED = "allowed: a writable directory, or a new path in one"


def error_line(result, program):
    """The one line ``program`` wrote to stderr; TensorFlow's loading chatter may precede it."""
    assert "Traceback" not in result.stderr, result.stderr
    ours = [line for line in result.stderr.splitlines() if line.startswith(f"{program}:")]
    assert len(ours) == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1] == ours[0]
    return ours[0]


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs a /proc file system")
def test_train_refuses_a_workdir_in_proc():
    result = run_module("dcgan.train", "--workdir=/proc/x", "--train_steps=1")
    assert result.returncode == 1
    assert error_line(result, "dcgan.train") == (
        "dcgan.train: error: --workdir=/proc/x cannot be created: [Errno 2] No such file or "
        f"directory: '/proc/x'; {ALLOWED}"
    )


def test_train_refuses_a_workdir_under_a_regular_file(tmp_path):
    (tmp_path / "file").write_text("kept")
    result = run_module("dcgan.train", f"--workdir={tmp_path}/file/w", "--train_steps=1")
    assert result.returncode == 1
    assert error_line(result, "dcgan.train") == (
        f"dcgan.train: error: --workdir={tmp_path}/file/w cannot be created: [Errno 20] Not a "
        f"directory: '{tmp_path}/file/w'; {ALLOWED}"
    )
    assert os.listdir(tmp_path) == ["file"]
    assert (tmp_path / "file").read_text() == "kept"


def _read_only_mount_possible(directory):
    # A private mount namespace: the mount vanishes with the process, even if a test dies.
    if shutil.which("unshare") is None:
        return False
    probe = ["unshare", "-m", "mount", "-t", "tmpfs", "-o", "ro", "tmpfs", str(directory)]
    return subprocess.run(probe, capture_output=True).returncode == 0


@pytest.mark.parametrize("inside", ["", "/new/w"], ids=["the-mount-itself", "a-new-path-in-it"])
def test_train_refuses_a_workdir_on_a_read_only_mount(tmp_path, inside):
    mount = tmp_path / "ro"
    mount.mkdir()
    if not _read_only_mount_possible(mount):
        pytest.skip("cannot mount a read-only tmpfs here (needs root and unshare)")
    workdir = f"{mount}{inside}"
    script = (
        'mount -t tmpfs -o ro tmpfs "$1" && exec "$2" -m dcgan.train --workdir="$3" --train_steps=1'
    )
    result = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", str(mount), sys.executable, workdir],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert result.returncode == 1
    line = error_line(result, "dcgan.train")
    if inside:
        expected = f"cannot be created: [Errno 30] Read-only file system: '{mount}/new'"
    else:
        expected = "cannot be written: [Errno 30] Read-only file system"
    assert line == f"dcgan.train: error: --workdir={workdir} {expected}; {ALLOWED}"


# --- damaged checkpoints -----------------------------------------------------------------

DATA = ".data-00000-of-00001"


def digests(directory):
    """{relative path: sha256} of every file under ``directory``: to prove nothing changed."""
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def refused(program, workdir, *args):
    """Runs ``program``, which must refuse with status 1 and leave ``workdir`` as it was.

    Returns:
        Its one error line.
    """
    before = digests(workdir)
    result = run_module(program, *args)
    assert result.returncode == 1, result.stderr
    assert digests(workdir) == before
    return error_line(result, program)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny run with checkpoints ckpt-2 and ckpt-4."""
    workdir = tmp_path_factory.mktemp("trained") / "w"
    loop.train(
        tiny_image(workdir, train_steps=4, checkpoint_every=2, keep_checkpoints=0, image_every=100)
    )
    return workdir


def truncate_data(prefix):
    with open(f"{prefix}{DATA}", "r+b") as f:
        f.truncate(os.path.getsize(f"{prefix}{DATA}") // 2)


def remove_data(prefix):
    os.remove(f"{prefix}{DATA}")


def damage_index(prefix):
    with open(f"{prefix}.index", "r+b") as f:
        f.truncate(50)


DAMAGES = {
    # What an interrupted copy leaves: the data file cut short.
    "truncated-data": (truncate_data, "Read less bytes than requested"),
    "missing-data": (remove_data, "{checkpoints}/ckpt-4" + DATA + "; No such file or directory"),
    "damaged-index": (damage_index, "not an sstable (bad magic number)"),
}


@pytest.fixture(params=list(DAMAGES))
def damaged(request, trained, tmp_path):
    """A copy of ``trained`` whose ckpt-4 is damaged: (workdir, what the error says of it)."""
    workdir = tmp_path / "w"
    shutil.copytree(trained, workdir)
    damage, reason = DAMAGES[request.param]
    damage(workdir / "checkpoints" / "ckpt-4")
    return workdir, reason.format(checkpoints=workdir / "checkpoints")


def test_sample_names_the_damaged_checkpoint_and_the_intact_ones(damaged, tmp_path):
    workdir, reason = damaged
    checkpoints = workdir / "checkpoints"
    line = refused("dcgan.sample", workdir, f"--workdir={workdir}", f"--output={tmp_path}/s.npy")
    assert line == (
        f"dcgan.sample: error: checkpoint {checkpoints}/ckpt-4 cannot be read: it is damaged "
        f"({reason}); intact checkpoints in {checkpoints}: ckpt-2; pick one with "
        f"--checkpoint, e.g. --checkpoint={checkpoints}/ckpt-2"
    )
    assert not os.path.exists(tmp_path / "s.npy")


def test_sample_from_the_intact_checkpoint_the_error_offers(trained, tmp_path):
    workdir = tmp_path / "w"
    shutil.copytree(trained, workdir)
    truncate_data(workdir / "checkpoints" / "ckpt-4")
    intact = workdir / "checkpoints" / "ckpt-2"
    output = tmp_path / "s.npy"
    result = run_module(
        "dcgan.sample", f"--workdir={workdir}", f"--checkpoint={intact}", f"--output={output}"
    )
    assert result.returncode == 0, result.stderr
    assert f"{intact}" in result.stdout
    assert np.load(output).shape[1:] == (28, 28, 1)


def test_train_refuses_a_damaged_checkpoint_then_resumes_once_it_is_moved_aside(
    trained, tmp_path, capsys
):
    workdir = tmp_path / "w"
    shutil.copytree(trained, workdir)
    checkpoints = workdir / "checkpoints"
    truncate_data(checkpoints / "ckpt-4")
    before = digests(workdir)
    flags = (f"--flagfile={workdir}/flags.txt", f"--workdir={workdir}", "--train_steps=6")
    assert refused("dcgan.train", workdir, *flags) == (
        f"dcgan.train: error: checkpoint {checkpoints}/ckpt-4 cannot be read: it is damaged "
        f"(Read less bytes than requested); intact checkpoints in {checkpoints}: ckpt-2; to "
        f"resume from ckpt-2, move aside or delete {checkpoints}/ckpt-4.*"
    )

    # What the message says to do: training then goes on from ckpt-2, which stays intact.
    aside = tmp_path / "aside"
    aside.mkdir()
    for name in ("ckpt-4.index", f"ckpt-4{DATA}"):
        os.rename(checkpoints / name, aside / name)
    # Trained in this process, from the same flags (the refusal above ran the command).
    capsys.readouterr()
    loop.train(from_flags(*flags))
    assert "resuming from step 2; training to step 6" in capsys.readouterr().out
    assert digests(checkpoints)["ckpt-2.index"] == before["checkpoints/ckpt-2.index"]
    assert digests(checkpoints)[f"ckpt-2{DATA}"] == before[f"checkpoints/ckpt-2{DATA}"]
    assert sorted(n for n in os.listdir(checkpoints) if n.endswith(".index")) == [
        "ckpt-2.index",
        "ckpt-4.index",
        "ckpt-6.index",
    ]
