"""``python -m dcgan.gif``: a run's fixed-noise grids as one animated GIF, in step order."""

import imageio.v3 as iio
import numpy as np
import pytest
from runner import CHILD_TIMEOUT, Commands, run_module

from dcgan.config import Config
from dcgan.io import images
from dcgan.run import loop


def gif(*args):
    return run_module("dcgan.gif", *args, timeout=CHILD_TIMEOUT)


@pytest.fixture(scope="module", autouse=True)
def commands(tmp_path_factory):
    """The commands that need no run of this process, in one process
    (``runner.run_batch``) started before the first test, while a run trains here."""
    commands = Commands(tmp_path_factory)
    start_hand_written(commands)
    for index, (args, _, _) in enumerate(ERRORS):
        tmp = commands.mkdir(f"error{index}")
        commands.command(f"error{index}", "dcgan.gif", *[a.format(tmp=tmp) for a in args])
    commands.start()
    yield commands
    commands.close()


def test_grids_of_a_run_in_step_order(tmp_path):
    # S5's generator and discriminator on 28 px glyphs: selu G, dropout in D, 5x5 kernels.
    workdir = tmp_path / "s5"
    loop.train(
        Config(
            workdir=str(workdir),
            image_size=28,
            latent_dim=8,
            g_activation="selu",
            d_norm="none",
            d_dropout=0.3,
            kernel_size=5,
            g_base_width=4,
            d_base_width=4,
            batch_size=8,
            train_steps=4,
            image_every=2,
            grid_size=3,
        )
    )
    result = gif(f"--workdir={workdir}", "--hold_last=0", "--frame_ms=50")
    assert result.returncode == 0, result.stderr
    assert "wrote 3 grids" in result.stdout
    frames = iio.imread(workdir / "progress.gif")
    # Each grid under a 12 px caption strip (a tenth of 92 px, at least 12).
    assert frames.shape == (3, 12 + 3 * 30 + 2, 3 * 30 + 2, 3)
    for frame, step in zip(frames, (0, 2, 4), strict=True):
        grid = iio.imread(workdir / "samples" / f"step_{step:08d}.png")
        np.testing.assert_array_equal(frame[12:, :, 0], grid)
        np.testing.assert_array_equal(
            frame[:12, :, 0], images.caption(grid, f"step {step}")[:12, :, 0]
        )
    assert not np.array_equal(frames[0, :12], frames[1, :12])  # "step 0" vs "step 2"


def start_hand_written(commands):
    tmp_path = commands.mkdir("hand-written")
    samples = tmp_path / "run" / "samples"
    samples.mkdir(parents=True)
    # Written by hand with unpadded names: by name, step_10 would sort before step_9.
    for step, level in ((9, 50), (10, 200), (100, 120)):
        images.write_png(str(samples / f"step_{step}.png"), np.full((4, 4, 1), level, np.uint8))
    (samples / "notes.txt").write_text("not a grid")
    output = f"--output={tmp_path / 'p.gif'}"
    commands.command(
        "hand-written", "dcgan.gif", f"--workdir={tmp_path / 'run'}", output, "--hold_last=2"
    )


def test_frames_follow_step_numbers_not_names(commands):
    output, result = commands.folder("hand-written") / "p.gif", commands.result("hand-written")
    assert result.returncode == 0, result.stderr
    frames = iio.imread(output)
    # The GIF writer merges the held copies of the last grid into one longer frame.
    np.testing.assert_array_equal(frames[:, -1, -1, 0], [50, 200, 120])
    durations = [iio.immeta(output, index=i)["duration"] for i in range(3)]
    assert durations == [200, 200, 600]


ERRORS = [
    ([], 2, "--workdir is required"),
    (["--workdir={tmp}", "--output={tmp}/x.png"], 2, "allowed: a path ending in .gif"),
    (["--workdir={tmp}"], 1, "no step_<step>.png sample grids in"),
]


@pytest.mark.parametrize("index", range(len(ERRORS)), ids=[message for *_, message in ERRORS])
def test_errors(commands, index):
    _, status, message = ERRORS[index]
    result = commands.result(f"error{index}")
    assert result.returncode == status, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("dcgan.gif: error: ") and message in last
