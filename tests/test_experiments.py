"""Every shipped flagfile trains: a few steps each, with its own networks and flags."""

import glob
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGFILES = sorted(glob.glob(os.path.join(ROOT, "experiments", "*.flags")))
# Only the length and batch shrink; networks, losses and optimizers stay as shipped.
SHRINK = ["--train_steps=2", "--log_every=1", "--checkpoint_every=2", "--image_every=2"]


def test_the_expected_experiments_ship():
    names = {os.path.basename(path) for path in FLAGFILES}
    assert {
        "quickstart.flags",
        "celeba.flags",
        "gaussian1d.flags",
        "ring2d.flags",
        "grid2d.flags",
    } <= names


def test_every_flag_line_has_a_why_comment():
    for path in FLAGFILES:
        with open(path) as f:
            lines = [line.rstrip("\n") for line in f]
        for index, line in enumerate(lines):
            if line.startswith("--"):
                previous = [p for p in lines[:index] if p.strip()]
                assert previous, f"{path}: {line} has no comment before it"


def jpeg_folder(directory, count=6):
    rng = np.random.default_rng(0)
    os.makedirs(directory / "nested")
    for i in range(count):
        pixels = rng.integers(0, 256, size=(218, 178, 3), dtype=np.uint8)  # CelebA's size
        Image.fromarray(pixels).save(directory / ("nested" if i % 2 else "") / f"{i}.jpg")
    return directory


@pytest.mark.parametrize("flagfile", FLAGFILES, ids=os.path.basename)
def test_flagfile_trains_two_steps(flagfile, tmp_path):
    extra = []
    if os.path.basename(flagfile) == "celeba.flags":
        extra = [f"--data_dir={jpeg_folder(tmp_path / 'celeba')}", "--batch_size=4"]
    elif "2d" in flagfile or "1d" in flagfile:
        extra = ["--batch_size=16"]
    else:
        extra = ["--batch_size=8"]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dcgan.train",
            f"--flagfile={flagfile}",
            f"--workdir={tmp_path / 'run'}",
            *SHRINK,
            *extra,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "step 2/2 d_loss=" in result.stdout
    assert os.path.exists(tmp_path / "run" / "checkpoints" / "ckpt-2.index")
