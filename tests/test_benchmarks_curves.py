"""dcgan.benchmarks.curves: the glyph runs' quality by step, against the real-vs-real floor."""

import json
import sys

import imageio.v3 as iio
import numpy as np
import pytest
from configs import tiny_image
from runner import CHILD_TIMEOUT, Background, program_stderr, run_module

from dcgan.benchmarks import curves
from dcgan.run import loop

TINY_FLAGS = """\
--dataset=glyphs
--image_size=28
--latent_dim=8
--g_base_width=4
--d_base_width=4
--batch_size=8
--grid_size=2
--log_every=1
--image_every=100
--checkpoint_every=100
"""


def test_read_evaluations_reads_the_eval_scalars_of_a_run(tmp_path, read_summaries):
    workdir = tmp_path / "run"
    loop.train(tiny_image(workdir, train_steps=2, eval_every=1, eval_samples=20))
    found = curves.read_evaluations(str(workdir))
    assert list(found) == [0, 1, 2]
    summaries = read_summaries(str(workdir))
    for name in ("fid", "coverage", "classes_covered"):
        assert [found[step][name] for step in found] == [v for _, v in summaries[f"eval/{name}"]]
    assert "alarm" not in found[1]  # text, not a number


FLOOR = {"fid": 20.0, "kid": 1.0, "classes_covered": 1.0}


@pytest.mark.parametrize(
    "last, status",
    [
        ({"fid": 40.0, "classes_covered": 1.0}, "PASS"),
        ({"fid": 40.1, "classes_covered": 1.0}, "MISS"),
        ({"fid": 30.0, "classes_covered": 61 / 62}, "MISS"),
    ],
)
def test_the_quickstart_target_is_2x_the_floor_with_every_class(last, status):
    evaluations = {0: {"fid": 900.0, "classes_covered": 0.1}, 3000: last}
    result = curves.target(evaluations, FLOOR)
    assert (result["step"], result["status"]) == (3000, status)
    assert result["fid_over_floor"] == pytest.approx(last["fid"] / 20.0)


def test_table_and_plot(tmp_path):
    runs = {"quickstart": {0: {"fid": 1234.5, "classes_covered": 0.5}, 1000: {"fid": 55.25}}}
    lines = curves.table(runs, FLOOR).splitlines()
    assert lines[0].startswith("| run | step | fid | kid | precision |")
    assert lines[2].startswith("| quickstart | 0 | 1234.5 | ") and "| 0.5 |" in lines[2]
    assert lines[3].startswith("| quickstart | 1000 | 55.2 | ")
    assert lines[4].startswith("| real vs real (two halves) | | 20.0 | 1 |")
    path = tmp_path / "curves.png"
    curves.plot(runs, FLOOR, str(path))
    picture = iio.imread(path)
    assert picture.shape == (320, 768, 3) and picture.std() > 0


def test_floor_compares_disjoint_halves_in_the_shipped_feature_space():
    result = curves.floor(100)
    assert (result["num_real"], result["num_fake"]) == (100, 100)
    assert result["extractor"] == "glyphs_classifier.keras layer features"
    assert 0 < result["fid"] < np.inf and 0 < result["classes_covered"] <= 1


@pytest.fixture(scope="module", autouse=True)
def tiny_end_to_end(tmp_path_factory):
    """The benchmark on ``TINY_FLAGS``, started in the background before the first test
    of this module (it runs while they do): (the command, its folder)."""
    tmp_path = tmp_path_factory.mktemp("tiny")
    flagfile = tmp_path / "tiny.flags"
    flagfile.write_text(TINY_FLAGS)
    args = [
        f"--experiments={flagfile}",
        f"--workdir_root={tmp_path / 'runs'}",
        "--train_steps=2",
        "--eval_every=1",
        "--eval_samples=30",
        f"--output={tmp_path / 'report.json'}",
        f"--plot={tmp_path / 'curves.png'}",
    ]
    command = Background(
        [sys.executable, "-m", "dcgan.benchmarks.curves", *args], timeout=CHILD_TIMEOUT
    )
    yield command, tmp_path
    command.kill()


def test_a_tiny_flagfile_end_to_end(tiny_end_to_end):
    command, tmp_path = tiny_end_to_end
    result = command.result()
    output, picture = tmp_path / "report.json", tmp_path / "curves.png"
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(output.read_text())
    evaluations = report["runs"]["tiny"]["evaluations"]
    assert list(evaluations) == ["0", "1", "2"]  # JSON keys
    assert report["real_vs_real"]["num_real"] == 30
    assert "| tiny | 2 | " in result.stdout and picture.exists()
    assert set(report["perturbed_real"]) == set(curves.PERTURBATIONS)
    assert "| dimmed to 0.8 | " in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--experiments=nope"], "--experiments: no flagfile "),
        (["--output=r.txt"], "--output=r.txt is invalid"),
        (["--plot=p.jpg"], "--plot=p.jpg is invalid"),
        (["--workdir_root={tmp}", "--experiments=quickstart"], "exists: remove it"),
    ],
)
def test_bad_input_is_one_line(tmp_path, args, message):
    (tmp_path / "quickstart").mkdir()
    result = run_module(
        "dcgan.benchmarks.curves", *[a.format(tmp=tmp_path) for a in args], timeout=CHILD_TIMEOUT
    )
    assert result.returncode == 2, result.stderr
    last = program_stderr(result)[-1]
    assert last.startswith("dcgan.benchmarks.curves: error: ") and message in last


def test_perturbations_of_real_glyphs():
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (4, 6, 6, 1)).astype(np.float32)
    shifted = curves.perturbed(images, "shifted 1 px")
    np.testing.assert_array_equal(shifted[:, :, 1:], images[:, :, :-1])
    assert (shifted[:, :, 0] == -1).all()  # black comes in
    np.testing.assert_allclose(curves.perturbed(images, "dimmed to 0.8"), (images + 1) * 0.8 - 1)
    noisy = curves.perturbed(np.zeros((200, 8, 8, 1), np.float32), "noise 0.1")
    assert abs(noisy.std() - 0.1) < 0.005 and abs(noisy.mean()) < 0.005
    flat = np.full((1, 6, 6, 1), 0.25, np.float32)  # a blur keeps a flat image as it is
    np.testing.assert_allclose(curves.perturbed(flat, "blur 1 px"), flat, atol=1e-6)
    spot = np.zeros((1, 5, 5, 1), np.float32)
    spot[0, 2, 2, 0] = 1.0  # the blur of a spot is the normalized 5x5 Gaussian
    taps = np.exp(-0.5 * (np.arange(-2, 3) / 0.5) ** 2)
    expected = np.outer(taps, taps) / taps.sum() ** 2
    np.testing.assert_allclose(
        curves.perturbed(spot, "blur 0.5 px")[0, :, :, 0], expected, atol=1e-6
    )
    with pytest.raises(ValueError, match="'rotated' is unknown; allowed: blur 0.5 px"):
        curves.perturbed(images, "rotated")


def test_sensitivity_table():
    reference = {"fid": 20.0, "precision": 0.96, "recall": 0.97, "coverage": 0.98}
    results = {"blur 1 px": {"fid": 300.0, "precision": 0.9, "recall": 0.6, "coverage": 0.86}}
    lines = curves.sensitivity_table(results, reference).splitlines()
    assert lines[2] == "| as it is (the floor) | 20.0 | 1.0 | 0.960 | 0.970 | 0.980 |"
    assert lines[3] == "| blur 1 px | 300.0 | 15.0 | 0.900 | 0.600 | 0.860 |"
