"""Entry points given a workdir they cannot use: one error line, status 1, nothing changed."""

import os
import shutil
import subprocess
import sys

import pytest
from runner import ROOT, run_module

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
