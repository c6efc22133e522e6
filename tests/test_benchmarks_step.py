"""Tests for dcgan.benchmarks.step on its cheapest scenario, ring2d, with a couple of steps."""

import json

import pytest
from runner import run_module

from dcgan.benchmarks import step as bench

RECORD_TYPES = {
    "scenario": str,
    "input": str,
    "batch_size": int,
    "n_critic": int,
    "steps": int,
    "warmup": int,
    "trace_first_step_s": float,
    "steps_per_s": float,
    "real_examples_per_s": float,
    "peak_rss_mib": float,
    "tracing_count": int,
}


def run_bench(*args):
    return run_module("dcgan.benchmarks.step", *args, timeout=120)


def check_record(record):
    assert {key: type(value) for key, value in record.items()} == RECORD_TYPES
    assert record["scenario"] == "ring2d"
    assert (record["batch_size"], record["n_critic"]) == (256, 1)
    # More than one trace would mean the timed steps include retracing.
    assert record["tracing_count"] == 1
    for key in ("trace_first_step_s", "steps_per_s", "real_examples_per_s", "peak_rss_mib"):
        assert record[key] > 0, key
    assert record["real_examples_per_s"] == pytest.approx(record["steps_per_s"] * 256)


def test_measure_ring2d():
    record = bench.measure(bench.SCENARIOS["ring2d"], steps=2, warmup=1)
    check_record(record)
    assert (record["steps"], record["warmup"]) == (2, 1)


def test_cli_prints_table_and_writes_json(tmp_path):
    output = tmp_path / "bench.json"
    result = run_bench("--scenarios=ring2d", "--steps=2", "--warmup=1", f"--output={output}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].split()[:2] == ["scenario", "input"]
    assert result.stdout.splitlines()[1].split()[0] == "ring2d"
    (record,) = json.loads(output.read_text())["records"]
    check_record(record)


def test_cli_unknown_scenario_is_a_one_line_usage_error():
    result = run_bench("--scenarios=ring2d,no_such_net")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("dcgan.benchmarks.step: error: ") and "'no_such_net'" in lines[0]
    for name in bench.SCENARIOS:
        assert name in lines[0].split("valid:")[1]
    assert result.stdout == ""
