"""A shrunk run of ``python -m dcgan.benchmarks.data``: it generates, reads and reports;
importing it defines no flags."""

import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image
from runner import CHILD_TIMEOUT

from dcgan.benchmarks import data as bench_data

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_write_jpegs_makes_decodable_files_of_the_size(tmp_path):
    bench_data.write_jpegs(str(tmp_path), count=3, height=218, width=178)
    paths = sorted(str(p) for p in tmp_path.rglob("*.jpg"))
    assert len(paths) == 3
    for path in paths:
        with Image.open(path) as image:
            assert image.format == "JPEG" and image.size == (178, 218)
            assert np.asarray(image).std() > 10  # not a flat color: decoding does work


def test_folder_dataset_switches_autotuning_back_on_only_when_asked(tmp_path):
    bench_data.write_jpegs(str(tmp_path), count=4, height=64, width=64)
    for autotune in (False, True):
        dataset = bench_data.folder_dataset(str(tmp_path), batch_size=2, autotune=autotune)
        assert dataset.options().autotune.enabled is autotune
        assert next(iter(dataset)).shape == (2, 64, 64, 3)


def test_bench_data_reports_both_folders(tmp_path):
    output = tmp_path / "bench_data.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dcgan.benchmarks.data",
            "--num_files=8",
            "--batch_size=4",
            "--warmup_batches=1",
            "--batches=3",
            f"--output={output}",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=CHILD_TIMEOUT,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(output.read_text())
    assert set(report["folders"]) == set(bench_data.FOLDERS)
    for name, folder in report["folders"].items():
        assert folder["timed_images"] == 12 and folder["images_per_sec"] > 0
        assert folder["autotuned_images_per_sec"] > 0
        assert f"{name}: " in result.stdout
    assert report["folders"]["jpeg_218x178_celeba_crop108"]["crop_size"] == 108


def test_bench_data_refuses_too_few_files():
    result = subprocess.run(
        [sys.executable, "-m", "dcgan.benchmarks.data", "--num_files=2", "--batch_size=4"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=CHILD_TIMEOUT,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "dcgan.benchmarks.data: error: --num_files=2 is invalid; allowed: at least --batch_size=4"
    )


def test_importing_defines_no_flags():
    # A fresh interpreter: in this one, other tests' imports may have defined the names.
    names = ("num_files", "batch_size", "warmup_batches", "batches", "output")
    code = (
        "from absl import flags\n"
        "import dcgan.benchmarks.data\n"
        f"print([name for name in {names!r} if name in flags.FLAGS])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=CHILD_TIMEOUT,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
