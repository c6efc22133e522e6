"""The toy quality benchmark: its target rule and table by hand, and one shrunk real run."""

import json

from runner import run_module

from dcgan.benchmarks import toys as bench_toys


def test_targets_by_hand():
    assert bench_toys.meets_target("ring2d", {"modes": 8, "high_quality": 0.97})
    assert not bench_toys.meets_target("ring2d", {"modes": 7, "high_quality": 1.0})
    assert not bench_toys.meets_target("ring2d", {"modes": 8, "high_quality": 0.9699})
    assert bench_toys.meets_target("grid2d", {"modes": 25, "high_quality": 0.99})
    assert not bench_toys.meets_target("grid2d", {"modes": 24, "high_quality": 0.99})
    assert bench_toys.meets_target("gaussian1d", {"w1": 0.05, "ks": 0.5})
    assert not bench_toys.meets_target("gaussian1d", {"w1": 0.0501, "ks": 0.0})
    # A variant is held to its toy set's target.
    assert bench_toys.toy_set("grid2d_pack2") == "grid2d"
    assert bench_toys.meets_target("grid2d_pack2", {"modes": 25, "high_quality": 0.97})
    assert not bench_toys.meets_target("ring2d_hinge", {"modes": 8, "high_quality": 0.96})


def test_table_rows():
    rows = [
        {
            "experiment": "ring2d",
            "seed": 3,
            "steps": 100,
            "train_seconds": 12.4,
            "metrics": {"modes": 8, "high_quality": 0.98765, "reverse_kl": 0.00123},
            "meets_target": True,
        },
        {
            "experiment": "gaussian1d",
            "seed": 0,
            "steps": 50,
            "train_seconds": 3.0,
            "metrics": {"w1": 0.061, "ks": 0.02},
            "meets_target": False,
        },
    ]
    lines = bench_toys.table(rows).splitlines()
    assert lines[2] == "| ring2d | 3 | 100 | 12 s | 8 | 98.8 % | 0.0012 |  |  | yes |"
    assert lines[3] == "| gaussian1d | 0 | 50 | 3 s |  |  |  | 0.0610 | 0.0200 | NO |"


def test_shrunk_benchmark_trains_evaluates_and_reports(tmp_path):
    # One experiment: each costs a training and an evaluation process. The 1-D set's
    # metrics through the evaluate command are test_evaluate's; its row, test_table_rows'.
    output = tmp_path / "toys.json"
    args = [
        "--experiments=ring2d",
        "--seeds=1",
        "--train_steps=2",
        "--num_samples=300",
        f"--workdir_root={tmp_path}/runs",
        f"--output={output}",
    ]
    result = run_module("dcgan.benchmarks.toys", *args, timeout=120)
    # Two steps meet no target: the benchmark says so with status 1, after its report.
    assert result.returncode == 1, result.stderr
    assert "missed the target: ring2d seed 1" in result.stderr
    report = json.loads(output.read_text())
    (run,) = report["runs"]
    assert (run["experiment"], run["seed"], run["steps"]) == ("ring2d", 1, 2)
    assert set(run["metrics"]) == {"modes", "high_quality", "reverse_kl"}
    assert (tmp_path / "runs" / "ring2d-seed1" / "checkpoints").is_dir()
    assert "| ring2d | 1 | 2 |" in result.stdout

    again = run_module("dcgan.benchmarks.toys", *args, timeout=30)
    assert again.returncode == 2
    assert again.stderr.strip().endswith(
        f"{tmp_path}/runs/ring2d-seed1 exists: remove it or pick another --workdir_root"
    )
