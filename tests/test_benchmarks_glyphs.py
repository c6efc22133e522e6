"""The glyph benchmark: its table by hand, and one shrunk real run on the 500-glyph subset."""

import json

import numpy as np
from runner import CHILD_TIMEOUT, run_module

from dcgan.benchmarks import glyphs as bench_glyphs


def test_table_rows():
    rows = [
        {
            "experiment": "glyphs32_r1",
            "steps": 3000,
            "train_seconds": 301.4,
            "fid": 12.345,
            "kid": 1.06,
        }
    ]
    lines = bench_glyphs.table(rows, floor=0.52).splitlines()
    assert lines[2] == "| glyphs32_r1 | 3000 | 301 s | 12.3 | 1.1 |"
    assert lines[3] == "| real vs real (two halves of the set) | | | 0.5 | |"


def test_glyph_set_labels_are_the_characters():
    images, labels = bench_glyphs.glyph_set()
    assert images.shape == (11_904, 32, 32, 1) and images.dtype == np.float32
    assert -1.0 <= images.min() < images.max() <= 1.0
    np.testing.assert_array_equal(labels[:64], np.arange(64) % 62)
    # The real-vs-real floor compares two halves that hold every character equally often.
    first, second = bench_glyphs.halves(len(labels))
    for half in (first, second):
        np.testing.assert_array_equal(np.bincount(labels[half]), [len(labels) // 124] * 62)


def test_shrunk_benchmark_trains_on_the_subset_and_measures(tmp_path):
    output = tmp_path / "glyphs.json"
    args = [
        "--experiments=glyphs500_hinge_sn_augment",
        "--train_steps=2",
        "--num_samples=64",
        f"--workdir_root={tmp_path}/runs",
        f"--output={output}",
    ]
    result = run_module("dcgan.benchmarks.glyphs", *args, timeout=CHILD_TIMEOUT)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(output.read_text())
    assert report["classifier"] == "glyphs_classifier.keras layer features"  # shipped
    assert report["classifier_accuracy"] >= 0.9
    (run,) = report["runs"]
    assert (run["experiment"], run["steps"], run["num_fake"]) == (
        "glyphs500_hinge_sn_augment",
        2,
        64,
    )
    assert run["fid"] > report["real_vs_real"]["fid"] >= 0
    subset = np.load(tmp_path / "runs" / "glyphs500.npy")
    assert subset.shape == (500, 32, 32, 1) and subset.dtype == np.uint8
    saved = json.loads((tmp_path / "runs" / run["experiment"] / "config.json").read_text())
    assert saved["data_file"] == str(tmp_path / "runs" / "glyphs500.npy")
    assert 0 < run["classes_covered"] <= 1 and run["precision"] >= 0
    assert "| glyphs500_hinge_sn_augment | 2 |" in result.stdout
