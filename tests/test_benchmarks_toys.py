"""The toy quality benchmark: its target rule and table by hand, and one shrunk real run."""

import json

from runner import CHILD_TIMEOUT, run_module

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


def test_goal_by_hand():
    # The results issue's goal: every mode, >= 98 % high quality, <= 600 s a run.
    assert bench_toys.meets_goal("ring2d", {"modes": 8, "high_quality": 0.98}, 600.0)
    assert not bench_toys.meets_goal("ring2d", {"modes": 8, "high_quality": 0.98}, 600.1)
    assert not bench_toys.meets_goal("ring2d", {"modes": 8, "high_quality": 0.9799}, 60.0)
    assert not bench_toys.meets_goal("grid2d", {"modes": 24, "high_quality": 0.99}, 60.0)
    assert bench_toys.meets_goal("grid2d_pack2", {"modes": 25, "high_quality": 0.99}, 60.0)
    assert bench_toys.meets_goal("gaussian1d", {"w1": 0.0, "ks": 0.0}, 1.0) is None


def test_table_rows():
    rows = [
        {
            "experiment": "ring2d",
            "seed": 3,
            "steps": 100,
            "train_seconds": 12.4,
            "metrics": {"modes": 8, "high_quality": 0.98765, "reverse_kl": 0.00123},
            "meets_target": True,
            "meets_goal": True,
        },
        {
            "experiment": "grid2d",
            "seed": 1,
            "steps": 100,
            "train_seconds": 700.0,
            "metrics": {"modes": 25, "high_quality": 0.9812, "reverse_kl": 0.0004},
            "meets_target": True,
            "meets_goal": False,
        },
        {
            "experiment": "gaussian1d",
            "seed": 0,
            "steps": 50,
            "train_seconds": 3.0,
            "metrics": {"w1": 0.061, "ks": 0.02},
            "meets_target": False,
            "meets_goal": None,
        },
    ]
    lines = bench_toys.table(rows).splitlines()
    assert lines[2] == "| ring2d | 3 | 100 | 12 s | 8 | 98.8 % | 0.0012 |  |  | yes | PASS |"
    assert lines[3] == "| grid2d | 1 | 100 | 700 s | 25 | 98.1 % | 0.0004 |  |  | yes | MISS |"
    assert lines[4] == "| gaussian1d | 0 | 50 | 3 s |  |  |  | 0.0610 | 0.0200 | NO |  |"


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
    result = run_module("dcgan.benchmarks.toys", *args, timeout=CHILD_TIMEOUT)
    # Two steps meet no target: the benchmark says so with status 1, after its report.
    assert result.returncode == 1, result.stderr
    assert "missed the target: ring2d seed 1" in result.stderr
    report = json.loads(output.read_text())
    (run,) = report["runs"]
    assert (run["experiment"], run["seed"], run["steps"]) == ("ring2d", 1, 2)
    assert set(run["metrics"]) == {"modes", "high_quality", "reverse_kl"}
    assert (tmp_path / "runs" / "ring2d-seed1" / "checkpoints").is_dir()
    assert "| ring2d | 1 | 2 |" in result.stdout
    assert run["meets_goal"] is False
    assert "goal (every mode, >= 98 % high quality, <= 10 min a run): MISS on ring2d seed 1" in (
        result.stdout
    )
    assert report["goals"]["ring2d"] == "8/8 modes, high quality >= 98 %, run <= 10 min"

    again = run_module("dcgan.benchmarks.toys", *args, timeout=CHILD_TIMEOUT)
    assert again.returncode == 2
    assert again.stderr.strip().endswith(
        f"{tmp_path}/runs/ring2d-seed1 exists: remove it or pick another --workdir_root"
    )
