"""``python -m dcgan.interpolate``: S1's latent interpolation grid and its GIF."""

import imageio.v3 as iio
import numpy as np
import pytest
from runner import Commands

from dcgan.config import Config
from dcgan.run import loop


@pytest.fixture(scope="module")
def s1_run(tmp_path_factory):
    """A tiny run with S1's kind of generator: uniform 4x4x2 noise, nearest upsampling."""
    workdir = tmp_path_factory.mktemp("s1_run")
    loop.train(
        Config(
            workdir=str(workdir),
            image_size=32,
            latent_dim=32,
            noise_shape=(4, 4, 2),
            noise_distribution="uniform",
            g_upsample="nearest",
            g_activation="elu",
            d_norm="none",
            d_dense_units=8,
            g_base_width=4,
            d_base_width=4,
            kernel_size=3,
            batch_size=8,
            train_steps=2,
            grid_size=2,
        )
    )
    return workdir


# Four runs of the command, 3 rows of 5 images each: "a" and "b" with the default seed
# and slerp, "c" with seed 1, "linear" with --method=linear.
GRIDS = {"a": [], "b": [], "c": ["--seed=1"], "linear": ["--method=linear"]}


@pytest.fixture(scope="module", autouse=True)
def commands(tmp_path_factory, s1_run):
    """The commands on ``s1_run`` (``GRIDS``, ``ERRORS``), in one process
    (``runner.run_batch``) started before the first test."""
    commands = Commands(tmp_path_factory)
    folder = commands.mkdir("grids")
    for name, args in GRIDS.items():
        output = f"--output={folder / name}.png"
        commands.command(
            name, "dcgan.interpolate", f"--workdir={s1_run}", output, "--rows=3", "--steps=5", *args
        )
    for index, (args, _, _) in enumerate(ERRORS):
        tmp = commands.mkdir(f"error{index}")
        commands.command(
            f"error{index}", "dcgan.interpolate", *[a.format(run=s1_run, tmp=tmp) for a in args]
        )
    commands.start()
    yield commands
    commands.close()


@pytest.fixture(scope="module")
def grids(commands):
    """{name: (result, PNG path)} of the ``GRIDS`` runs."""
    found = {}
    for name in GRIDS:
        result = commands.result(name)
        assert result.returncode == 0, result.stderr
        found[name] = (result, commands.folder("grids") / f"{name}.png")
    return found


def test_grid_rows_and_gif_frames(grids):
    result, output = grids["a"]
    assert "wrote 3 slerp interpolations of 5 images" in result.stdout
    grid = iio.imread(output)
    assert grid.shape == (3 * 34 + 2, 5 * 34 + 2)  # 3 rows of 5 images of 32 px, 2 px apart
    # Forth (5 positions) and back without repeating the ends: 5 + 3 frames of the
    # 3 pairs, tiled 2 x 2.
    frames = iio.imread(output.with_suffix(".gif"))
    assert frames.shape == (8, 2 * 34 + 2, 2 * 34 + 2, 3)
    # Frame 1 shows the second image of every row: row 1's sits in the GIF's top-right
    # cell and in the PNG's second row, second column.
    np.testing.assert_array_equal(frames[1, 2:34, 36:68, 0], grid[36:68, 36:68])
    np.testing.assert_array_equal(frames[7], frames[1])  # on the way back


def test_same_seed_same_grid_other_seed_other_grid(grids):
    a, b, c = (iio.imread(grids[name][1]) for name in "abc")
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_linear_paths_differ_from_slerp_inside_but_share_the_ends(grids):
    slerp, linear = (iio.imread(grids[name][1]) for name in ("a", "linear"))
    assert "wrote 3 linear interpolations" in grids["linear"][0].stdout
    # Each row: 5 images of 32 px; the first and the last column are the pair's ends.
    ends = np.s_[:, list(range(0, 36)) + list(range(4 * 34, 5 * 34 + 2))]
    np.testing.assert_array_equal(slerp[ends], linear[ends])
    assert not np.array_equal(slerp, linear)


ERRORS = [
    (["--output={tmp}/x.png"], 2, "--workdir is required"),
    (["--workdir={run}", "--output={tmp}/x.gif"], 2, "allowed: a path ending in .png"),
    (["--workdir={run}", "--output=/no/such/x.png"], 2, "directory /no/such does not"),
    (["--workdir={tmp}", "--output={tmp}/x.png"], 2, "holds no dcgan run"),
    (["--workdir={run}", "--steps=1", "--output={tmp}/x.png"], 2, "--steps"),
    (
        ["--workdir={run}", "--checkpoint={run}/checkpoints/ckpt-7", "--output={tmp}/x.png"],
        1,
        "no checkpoint at",
    ),
]


@pytest.mark.parametrize("index", range(len(ERRORS)), ids=[message for *_, message in ERRORS])
def test_errors(commands, index):
    _, status, message = ERRORS[index]
    result = commands.result(f"error{index}")
    assert result.returncode == status, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("dcgan.interpolate: error: ") and message in last
