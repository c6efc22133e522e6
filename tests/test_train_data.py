"""Runs of ``dcgan.train`` on generated data sources: an image folder with bad files
(counted, resumed exactly), a fake Keras cache, .npy files, bad input.

Runs that only have to train are trained in this process from the command's own flags
(``configs.from_flags``); ``python -m dcgan.train`` runs where its exit status, its error
line or its environment (KERAS_HOME) is the point, the independent ones submitted at the
module's start and run two at a time in the background (``runner.Commands``).
"""

import gzip
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from configs import from_flags
from PIL import Image
from runner import CHILD_TIMEOUT, Commands, log_lines, program_stderr, run_module

from dcgan.run import loop

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# A small DCGAN, so each run takes seconds.
TINY = [
    "--image_size=28",
    "--latent_dim=8",
    "--g_base_width=4",
    "--d_base_width=4",
    "--batch_size=4",
    "--grid_size=2",
    "--log_every=1",
    "--summary_every=1",
    "--checkpoint_every=2",
    "--image_every=100",
]


def train(*flags):
    """``python -m dcgan.train *flags``: for exit statuses and error lines."""
    return run_module("dcgan.train", *flags, timeout=CHILD_TIMEOUT)


def train_here(capsys, *flags):
    """Trains what ``python -m dcgan.train *flags`` would, in this process; returns what
    it printed."""
    capsys.readouterr()
    loop.train(from_flags(*flags))
    return capsys.readouterr().out


def one_error_line(result, status):
    assert result.returncode == status, result.stderr[-2000:]
    last = program_stderr(result)[-1]
    assert last.startswith("dcgan.train: error: ")
    return last


def photo_folder(root, count=10):
    """JPEG/PNG/GIF photos of mixed sizes and modes in nested folders, plus bad files."""
    rng = np.random.default_rng(0)
    for i in range(count):
        height, width = 40 + 3 * i, 30 + 5 * i
        pixels = rng.integers(0, 256, (height, width, 3), np.uint8)
        image = Image.fromarray(pixels).convert(["RGB", "L", "RGBA", "P"][i % 4])
        sub = root / ["", "a", "a/b", "c"][i % 4]
        sub.mkdir(parents=True, exist_ok=True)
        image.save(sub / f"{i}.{['jpg', 'png', 'png', 'gif'][i % 4]}")
    whole = (root / "0.jpg").read_bytes()
    (root / "a" / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    (root / "a" / "b" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    return str(root)


@pytest.fixture(scope="module", autouse=True)
def commands(tmp_path_factory):
    """The commands that need no run of this process, started before the first test, two
    at a time in the background (``runner.Commands``); the failing ones and the
    Fashion-MNIST run in one process (``runner.run_batch``). Each test reads its own."""
    # KERAS_HOME of every batched command: the fake Keras cache of start_fashion_mnist
    # (the other commands read nothing from it).
    keras_home = str(tmp_path_factory.mktemp("keras"))
    commands = Commands(tmp_path_factory, env={"KERAS_HOME": keras_home})
    commands.submit("exact-resume", exact_resume, commands.mkdir("exact-resume"))
    start_fashion_mnist(commands)
    start_wrong_array(commands)
    start_bad_data_input(commands)
    commands.start()
    yield commands
    commands.close()


def test_folder_run_skips_bad_files_and_reports_them(tmp_path, read_summaries, capsys):
    data_dir = photo_folder(tmp_path / "photos")
    workdir = str(tmp_path / "run")
    flags = [
        f"--workdir={workdir}",
        "--dataset=folder",
        f"--data_dir={data_dir}",
        "--channels=3",
        "--crop=center",
        "--crop_size=36",
        "--random_flip",
        *TINY,
    ]
    out = train_here(capsys, *flags, "--train_steps=6")
    assert "step 6/6 d_loss=" in out
    # 6 steps of one batch of 4 go through 2.4 epochs of the 10 good files, so at least
    # 2 whole epochs were decoded, each with 2 bad files; the count never goes down.
    counts = [
        int(line.split("skipped_images=")[1].split()[0])
        for line in out.splitlines()
        if "skipped_images=" in line
    ]
    assert counts and counts[-1] >= 4 and counts == sorted(counts)
    summaries = read_summaries(workdir)
    assert summaries["health/skipped_images"][-1][1] == counts[-1]

    # Resumed with the other mode: the next epoch (within 10 more images) has a bad file.
    failed = train(*flags, "--train_steps=12", "--on_bad_image=fail")
    message = one_error_line(failed, 1)
    assert "cannot decode image file" in message
    assert ("truncated.jpg" in message) or ("corrupt.png" in message)


# Run in a child: op determinism is process-wide.
EXACT_RESUME = textwrap.dedent("""
    import sys, numpy as np
    from dcgan.run import loop
    from dcgan.config import Config

    def run(workdir, steps):
        config = Config(workdir=workdir, dataset="folder", data_dir=sys.argv[2], channels=3,
                        crop="center", random_flip=True, image_size=28, latent_dim=8,
                        g_base_width=4, d_base_width=4, batch_size=4, train_steps=steps,
                        n_critic=2, deterministic=True, checkpoint_every=100, log_every=100)
        trainer = loop.train(config)
        return [v.numpy() for v in trainer.generator.weights + trainer.discriminator.weights]

    root = sys.argv[1]
    straight = run(f"{root}/straight", 6)
    run(f"{root}/resumed", 3)
    resumed = run(f"{root}/resumed", 6)
    same = [np.array_equal(a, b) for a, b in zip(straight, resumed, strict=True)]
    print("IDENTICAL" if all(same) else f"DIFFERENT {same.count(False)} of {len(same)}")
""")


def exact_resume(root):
    """``EXACT_RESUME`` in a child process, on a photo folder made under ``root``."""
    data_dir = photo_folder(root / "photos")
    return subprocess.run(
        [sys.executable, "-c", EXACT_RESUME, str(root), data_dir],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=CHILD_TIMEOUT,
    )


def test_folder_run_with_bad_files_resumes_bit_identically(commands):
    result = commands.result("exact-resume")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "IDENTICAL" in result.stdout, result.stdout[-500:]


def write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


def start_fashion_mnist(commands):
    """A run on Fashion-MNIST from a fake Keras cache that KERAS_HOME points to."""
    tmp = commands.mkdir("fashion-mnist")
    cache = Path(commands.env["KERAS_HOME"]) / "datasets" / "fashion-mnist"
    cache.mkdir(parents=True)
    rng = np.random.default_rng(0)
    write_idx(cache / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (20, 28, 28), np.uint8))
    write_idx(cache / "train-labels-idx1-ubyte.gz", np.zeros(20, np.uint8))
    write_idx(cache / "t10k-images-idx3-ubyte.gz", np.zeros((2, 28, 28), np.uint8))
    write_idx(cache / "t10k-labels-idx1-ubyte.gz", np.zeros(2, np.uint8))
    args = (f"--workdir={tmp / 'run'}", "--dataset=fashion_mnist", "--train_steps=2", *TINY)
    commands.command("fashion-mnist", "dcgan.train", *args)


def test_fashion_mnist_run_from_the_keras_cache(commands):
    result = commands.result("fashion-mnist")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "step 2/2 d_loss=" in result.stdout


def test_npy_run_and_a_wrong_array(commands, tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "faces.npy", rng.integers(0, 256, (12, 40, 40, 3), np.uint8))
    out = train_here(
        capsys,
        f"--workdir={tmp_path / 'run'}",
        "--dataset=npy",
        f"--data_file={tmp_path / 'faces.npy'}",
        "--channels=3",
        "--resize_method=area",
        "--train_steps=2",
        *TINY,
    )
    assert "step 2/2 d_loss=" in out

    message = one_error_line(commands.result("wrong-array"), 1)
    assert "shape (12, 5)" in message and "vectors.npy" in message
    assert not os.path.exists(commands.folder("wrong-array") / "bad")


def start_wrong_array(commands):
    tmp = commands.mkdir("wrong-array")
    np.save(tmp / "vectors.npy", np.zeros((12, 5), np.float32))
    args = (f"--workdir={tmp / 'bad'}", "--dataset=npy", f"--data_file={tmp / 'vectors.npy'}")
    commands.command("wrong-array", "dcgan.train", *args, "--train_steps=2", *TINY)


BAD_DATA_INPUT = {
    "empty-folder": (["--dataset=folder", "--data_dir={tmp}"], 1, "no image files under"),
    "missing-folder": (["--dataset=folder", "--data_dir={tmp}/none"], 1, "does not exist"),
    "crop-size": (["--dataset=folder", "--data_dir={tmp}", "--crop_size=108"], 2, "--crop=center"),
    "image-size": (
        ["--dataset=folder", "--data_dir={tmp}", "--image_size=48"],
        2,
        "--image_size=48",
    ),
    "npy-file": (["--dataset=npy"], 2, "--dataset=npy needs --data_file"),
    "on-bad-image": (["--on_bad_image=fail"], 2, "--on_bad_image has no effect here"),
}


def start_bad_data_input(commands):
    for case, (flags, _, _) in BAD_DATA_INPUT.items():
        tmp = commands.mkdir(case)
        (tmp / "notes.txt").write_text("no images here")
        flags = [flag.replace("{tmp}", str(tmp)) for flag in flags]
        args = [f"--workdir={tmp / 'run'}", "--train_steps=1", *flags]
        commands.command(case, "dcgan.train", *args)


@pytest.mark.parametrize("case", BAD_DATA_INPUT)
def test_bad_data_input_is_one_line(commands, case):
    _, status, fragment = BAD_DATA_INPUT[case]
    assert fragment in one_error_line(commands.result(case), status)
    assert not os.path.exists(commands.folder(case) / "run")


def test_npy_vectors_run_then_sample_without_the_file(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "points.npy", rng.normal(size=(64, 3)))
    workdir = tmp_path / "run"
    out = train_here(
        capsys,
        f"--workdir={workdir}",
        "--dataset=npy_vectors",
        f"--data_file={tmp_path / 'points.npy'}",
        "--batch_size=16",
        "--latent_dim=4",
        "--g_hidden_units=8",
        "--d_hidden_units=8",
        "--train_steps=2",
        "--log_every=1",
    )
    assert "step 2/2 d_loss=" in out
    assert "--vector_dim=3\n" in (workdir / "flags.txt").read_text()
    os.remove(tmp_path / "points.npy")
    sampled = run_module(
        "dcgan.sample",
        f"--workdir={workdir}",
        "--num_samples=10",
        f"--output={tmp_path / 'samples.npy'}",
        timeout=CHILD_TIMEOUT,
    )
    assert sampled.returncode == 0, sampled.stderr[-2000:]
    assert np.load(tmp_path / "samples.npy").shape == (10, 3)


def test_folder_run_with_a_file_cache_resumes(tmp_path, capsys):
    data_dir = photo_folder(tmp_path / "photos")
    cache = tmp_path / "photos.npy"
    flags = [
        f"--workdir={tmp_path / 'run'}",
        "--dataset=folder",
        f"--data_dir={data_dir}",
        f"--cache={cache}",
        *TINY,
    ]
    first = train_here(capsys, *flags, "--train_steps=2")
    # The two bad files were found while the set was decoded, before the first step.
    first_step = next(line for line in log_lines(first) if line.startswith("step "))
    assert "skipped_images=2 " in first_step
    assert np.load(cache).shape == (10, 28, 28, 1)
    second = train_here(capsys, *flags, "--train_steps=4")
    assert "resuming from step 2" in second and "step 4/4" in second
    (last_step,) = [line for line in log_lines(second) if line.startswith("step 4/4")]
    assert "skipped_images=2 " in last_step
