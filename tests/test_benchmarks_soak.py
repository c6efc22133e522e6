"""The soak benchmark: its figures from hand-made samples, and one short real soak."""

import pytest

from dcgan.benchmarks import soak as bench_soak


def test_summarize_hand_computed():
    # (seconds, step, rss MiB, event bytes) for a 1000-step run.
    samples = [
        (1, 0, 300.0, 0),
        (2, 100, 500.0, 800),
        (3, 250, 510.0, 2000),
        (4, 500, 512.0, 4000),
        (5, 800, 515.0, 6400),
        (6, 1000, 514.0, 8000),
    ]
    figures = bench_soak._summarize(samples, 1000, final_events=8000)
    assert figures["rss_after_warmup_mib"] == 510.0  # first sample at step >= 250
    assert figures["rss_growth_after_warmup_mib"] == pytest.approx(4.0)  # 514 - 510
    assert figures["rss_final_mib"] == 514.0
    assert figures["event_bytes_per_step_first_half"] == pytest.approx(4000 / 500)
    assert figures["event_bytes_per_step_second_half"] == pytest.approx(4000 / 500)


def test_short_soak_runs_the_real_trainer():
    result = bench_soak.soak(steps=300, interval_s=0.2)
    assert result["traces"] == {"train_step": 1, "generate": 1}
    assert result["samples"], "no memory samples taken"
    steps = [step for _, step, _, _ in result["samples"]]
    assert steps == sorted(steps) and max(steps) <= 300
    # The readings are real: once TensorFlow is loaded it alone takes more than 50 MiB.
    # (Early samples may catch the interpreter still starting, on a loaded machine.)
    assert max(rss for _, _, rss, _ in result["samples"]) > 50
