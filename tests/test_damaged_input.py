"""Entry points given a workdir they cannot use: one error line, status 1, nothing changed.

Every command here loads TensorFlow: they run in a process per entry point
(``runner.run_batch``) started when the module starts, the read-only mounts in a process
each; each test reads its own.
"""

import hashlib
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from configs import from_flags, tiny_image
from runner import CHILD_TIMEOUT, ROOT, Commands

from dcgan.run import loop

ALLOWED = "allowed: a writable directory, or a new path in one"
DATA = ".data-00000-of-00001"


def error_line(result, program):
    """The one line ``program`` wrote to stderr; TensorFlow's loading chatter may precede it."""
    assert "Traceback" not in result.stderr, result.stderr
    ours = [line for line in result.stderr.splitlines() if line.startswith(f"{program}:")]
    assert len(ours) == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1] == ours[0]
    return ours[0]


def digests(directory):
    """{relative path: sha256} of every file under ``directory``: to prove nothing changed."""
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


BEFORE = {}  # {command name: (its workdir, digests of the workdir before the command)}


def refusal(commands, name, program, workdir, *args):
    """Queues ``program *args``, which should refuse and leave ``workdir`` as it was."""
    BEFORE[name] = (workdir, digests(workdir))
    commands.command(name, program, *args)


def refused(commands, name, program):
    """The one error line of command ``name``, which must have refused with status 1 and
    left its workdir as it was."""
    result = commands.result(name)
    workdir, before = BEFORE[name]
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


@pytest.fixture(scope="module", autouse=True)
def commands(tmp_path_factory, trained):
    """The commands of every test below, submitted before the first one runs."""
    commands = Commands(tmp_path_factory)
    start_workdir_refusals(commands)
    start_read_only_mounts(commands)
    start_damaged_samples(commands, trained)
    start_intact_sample(commands, trained)
    start_damaged_train(commands, trained)
    commands.start()
    yield commands
    commands.close()


def start_workdir_refusals(commands):
    if os.path.isdir("/proc/self"):
        commands.command("proc", "dcgan.train", "--workdir=/proc/x", "--train_steps=1")
    tmp = commands.mkdir("under-a-file")
    (tmp / "file").write_text("kept")
    commands.command("under-a-file", "dcgan.train", f"--workdir={tmp}/file/w", "--train_steps=1")


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs a /proc file system")
def test_train_refuses_a_workdir_in_proc(commands):
    result = commands.result("proc")
    assert result.returncode == 1
    assert error_line(result, "dcgan.train") == (
        "dcgan.train: error: --workdir=/proc/x cannot be created: [Errno 2] No such file or "
        f"directory: '/proc/x'; {ALLOWED}"
    )


def test_train_refuses_a_workdir_under_a_regular_file(commands):
    tmp_path, result = commands.folder("under-a-file"), commands.result("under-a-file")
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
    return subprocess.run(probe, capture_output=True, timeout=30).returncode == 0


READ_ONLY = {"the-mount-itself": "", "a-new-path-in-it": "/new/w"}


def train_on_a_read_only_mount(mount, workdir):
    """``dcgan.train --workdir=workdir`` with a read-only tmpfs on ``mount`` (None if no
    such mount can be made here)."""
    if not _read_only_mount_possible(mount):
        return None
    script = (
        'mount -t tmpfs -o ro tmpfs "$1" && exec "$2" -m dcgan.train --workdir="$3" --train_steps=1'
    )
    return subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", str(mount), sys.executable, workdir],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=CHILD_TIMEOUT,
    )


def start_read_only_mounts(commands):
    for case, inside in READ_ONLY.items():
        mount = commands.mkdir(case) / "ro"
        mount.mkdir()
        commands.submit(case, train_on_a_read_only_mount, mount, f"{mount}{inside}")


@pytest.mark.parametrize("case", READ_ONLY)
def test_train_refuses_a_workdir_on_a_read_only_mount(commands, case):
    mount, inside = commands.folder(case) / "ro", READ_ONLY[case]
    result = commands.result(case)
    if result is None:
        pytest.skip("cannot mount a read-only tmpfs here (needs root and unshare)")
    workdir = f"{mount}{inside}"
    assert result.returncode == 1
    line = error_line(result, "dcgan.train")
    if inside:
        expected = f"cannot be created: [Errno 30] Read-only file system: '{mount}/new'"
    else:
        expected = "cannot be written: [Errno 30] Read-only file system"
    assert line == f"dcgan.train: error: --workdir={workdir} {expected}; {ALLOWED}"


# --- damaged checkpoints -----------------------------------------------------------------


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


def damaged_copy(trained, folder, damage):
    """A copy of ``trained`` in ``folder``/w whose ckpt-4 ``damage`` damaged."""
    workdir = folder / "w"
    shutil.copytree(trained, workdir)
    damage(workdir / "checkpoints" / "ckpt-4")
    return workdir


def start_damaged_samples(commands, trained):
    for case, (damage, _) in DAMAGES.items():
        tmp = commands.mkdir(case)
        workdir = damaged_copy(trained, tmp, damage)
        args = (f"--workdir={workdir}", f"--output={tmp}/s.npy")
        refusal(commands, case, "dcgan.sample", workdir, *args)


@pytest.mark.parametrize("case", DAMAGES)
def test_sample_names_the_damaged_checkpoint_and_the_intact_ones(commands, case):
    tmp_path = commands.folder(case)
    checkpoints = tmp_path / "w" / "checkpoints"
    reason = DAMAGES[case][1].format(checkpoints=checkpoints)
    assert refused(commands, case, "dcgan.sample") == (
        f"dcgan.sample: error: checkpoint {checkpoints}/ckpt-4 cannot be read: it is damaged "
        f"({reason}); intact checkpoints in {checkpoints}: ckpt-2; pick one with "
        f"--checkpoint, e.g. --checkpoint={checkpoints}/ckpt-2"
    )
    assert not os.path.exists(tmp_path / "s.npy")


def start_intact_sample(commands, trained):
    tmp = commands.mkdir("intact")
    workdir = damaged_copy(trained, tmp, truncate_data)
    intact = workdir / "checkpoints" / "ckpt-2"
    args = (f"--workdir={workdir}", f"--checkpoint={intact}", f"--output={tmp}/s.npy")
    commands.command("intact", "dcgan.sample", *args)


def test_sample_from_the_intact_checkpoint_the_error_offers(commands):
    tmp_path, result = commands.folder("intact"), commands.result("intact")
    intact = tmp_path / "w" / "checkpoints" / "ckpt-2"
    assert result.returncode == 0, result.stderr
    assert f"{intact}" in result.stdout
    assert np.load(tmp_path / "s.npy").shape[1:] == (28, 28, 1)


def resume_flags(workdir):
    return (f"--flagfile={workdir}/flags.txt", f"--workdir={workdir}", "--train_steps=6")


def start_damaged_train(commands, trained):
    workdir = damaged_copy(trained, commands.mkdir("train"), truncate_data)
    refusal(commands, "train", "dcgan.train", workdir, *resume_flags(workdir))


def test_train_refuses_a_damaged_checkpoint_then_resumes_once_it_is_moved_aside(commands, capsys):
    tmp_path = commands.folder("train")
    workdir = tmp_path / "w"
    checkpoints = workdir / "checkpoints"
    assert refused(commands, "train", "dcgan.train") == (
        f"dcgan.train: error: checkpoint {checkpoints}/ckpt-4 cannot be read: it is damaged "
        f"(Read less bytes than requested); intact checkpoints in {checkpoints}: ckpt-2; to "
        f"resume from ckpt-2, move aside or delete {checkpoints}/ckpt-4.*"
    )
    _, before = BEFORE["train"]

    # What the message says to do: training then goes on from ckpt-2, which stays intact.
    aside = tmp_path / "aside"
    aside.mkdir()
    for name in ("ckpt-4.index", f"ckpt-4{DATA}"):
        os.rename(checkpoints / name, aside / name)
    # Trained in this process, from the same flags (the refusal above ran the command).
    capsys.readouterr()
    loop.train(from_flags(*resume_flags(workdir)))
    assert "resuming from step 2; training to step 6" in capsys.readouterr().out
    assert digests(checkpoints)["ckpt-2.index"] == before["checkpoints/ckpt-2.index"]
    assert digests(checkpoints)[f"ckpt-2{DATA}"] == before[f"checkpoints/ckpt-2{DATA}"]
    assert sorted(n for n in os.listdir(checkpoints) if n.endswith(".index")) == [
        "ckpt-2.index",
        "ckpt-4.index",
        "ckpt-6.index",
    ]
