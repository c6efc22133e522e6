"""What TensorBoard shows of a run: grouped scalar tags, the flags as text and HParams
(named after the workdir, leading with what changes what is learned), the Custom
Scalars layout, and the time left on the log line."""

import dataclasses
import glob
import math
import os

import numpy as np
import pytest
import tensorflow as tf
from configs import STEP_METRICS, tiny_image, tiny_vector
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.hparams import plugin_data_pb2

from dcgan.config import Config
from dcgan.run import log as run_log
from dcgan.run import loop, summaries
from dcgan.run.builder import build_trainer

# Every metric the trainer and the loop can write, with its tag.
TAGS = {
    "d_loss": "loss/d_loss",
    "d_loss_real": "loss/d_loss_real",
    "d_loss_fake": "loss/d_loss_fake",
    "g_loss": "loss/g_loss",
    "gradient_penalty": "loss/gradient_penalty",
    "lipschitz_penalty": "loss/lipschitz_penalty",
    "r1_penalty": "loss/r1_penalty",
    "r2_penalty": "loss/r2_penalty",
    "d_class_loss": "loss/d_class_loss",
    "d_accuracy": "D/d_accuracy",
    "wasserstein_estimate": "D/wasserstein_estimate",
    "d_output_real": "D/d_output_real",
    "d_output_fake": "D/d_output_fake",
    "d_grad_norm": "D/d_grad_norm",
    "d_loss_scale": "D/d_loss_scale",
    "g_grad_norm": "G/g_grad_norm",
    "g_loss_scale": "G/g_loss_scale",
    "steps_per_sec": "speed/steps_per_sec",
    "g_lr": "lr/g_lr",
    "d_lr": "lr/d_lr",
    "nonfinite_updates": "health/nonfinite_updates",
    "skipped_images": "health/skipped_images",
}
# Trainers that between them return every metric of the step.
OBJECTIVES = [
    dict(loss="dcgan"),
    dict(loss="wgan"),
    dict(loss="wgan-gp"),
    dict(loss="hinge"),
    dict(loss="lsgan"),
    dict(loss="ragan"),
    dict(penalty="lp"),
    dict(penalty="r1"),
    dict(penalty="r2"),
    dict(precision="mixed_float16"),  # the loss scales
]


@pytest.mark.parametrize("name", sorted(TAGS))
def test_every_metric_has_its_group_and_keeps_its_name(name):
    assert summaries.summary_tag(name) == TAGS[name]


@pytest.mark.parametrize("overrides", OBJECTIVES, ids=lambda o: "-".join(o.values()))
def test_every_metric_a_trainer_returns_is_in_a_named_group(tmp_path, overrides):
    trainer = build_trainer(tiny_vector(tmp_path, **overrides))
    names = trainer.metric_names  # everything the step returns, in its order
    assert {summaries.summary_tag(name) for name in names} <= set(TAGS.values())


def test_the_class_loss_of_an_acgan_trainer_is_in_a_named_group(tmp_path):
    config = tiny_image(tmp_path, conditioning="acgan", num_classes=62)
    names = build_trainer(config).metric_names
    assert "d_class_loss" in names
    assert {summaries.summary_tag(name) for name in names} <= set(TAGS.values())


def test_the_groups_name_each_metric_once():
    names = [name for group in summaries.GROUPS.values() for name in group]
    assert len(names) == len(set(names))
    assert set(names) == set(TAGS)


@pytest.mark.parametrize(
    "name, tag",
    [
        ("d_new_metric", "D/d_new_metric"),  # a new metric goes by its network's prefix
        ("g_new_metric", "G/g_new_metric"),
        ("examples_seen", "other/examples_seen"),
        ("eval/fid", "eval/fid"),  # a tag already
        ("best/reverse_kl", "best/reverse_kl"),
    ],
)
def test_an_unknown_metric_falls_into_a_default_group(name, tag):
    assert summaries.summary_tag(name) == tag


def test_flags_table_lists_the_applicable_flags_in_field_order(tmp_path):
    config = tiny_vector(tmp_path, train_steps=7, d_hidden_units=(16, 8))
    table = summaries.flags_markdown(config).splitlines()
    assert table[:2] == ["| flag | value |", "|---|---|"]
    assert f"| `workdir` | `{tmp_path}` |" in table
    assert "| `train_steps` | `7` |" in table
    assert "| `d_hidden_units` | `16,8` |" in table
    assert "| `profile_steps` | |" in table  # empty, not two backticks
    assert not any("`image_size`" in row for row in table)  # no effect on vectors
    names = [row.split("`")[1] for row in table[2:]]
    assert names == list(config.applicable_fields())


def test_hparams_are_numbers_bools_and_strings(tmp_path):
    config = tiny_vector(tmp_path, loss="lsgan", lsgan_targets=(1.0, -1.0, 0.0), g_lr=3e-4)
    values = summaries.hparams(config)
    assert values["train_steps"] == config.train_steps and isinstance(values["train_steps"], int)
    assert values["g_lr"] == 3e-4
    assert values["deterministic"] is False
    assert values["lsgan_targets"] == "1.0,-1.0,0.0"
    assert values["d_hidden_units"] == "16"
    assert "image_size" not in values
    assert all(type(v) in (bool, int, float, str) for v in values.values())


def test_hparams_metrics_follow_evaluation_and_best_metric(tmp_path):
    def tags(**overrides):
        metrics = summaries.hparams_metrics(tiny_vector(tmp_path, **overrides))
        return [m.as_proto().name.tag for m in metrics]

    assert tags() == ["loss/d_loss", "loss/g_loss"]
    evaluated = ["loss/d_loss", "loss/g_loss", "eval/modes", "eval/high_quality", "eval/reverse_kl"]
    assert tags(eval_every=10) == evaluated
    assert tags(eval_every=10, best_metric="modes") == [*evaluated, "best/modes"]


def plugin_values(workdir, plugin):
    """Every summary value of ``plugin`` in ``workdir``'s event files, in order."""
    for path in sorted(glob.glob(os.path.join(workdir, "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == plugin:
                    yield value


def hparams_plugin_data(workdir):
    """Every ``HParamsPluginData`` in ``workdir``'s event files, in order."""
    return [
        plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
        for value in plugin_values(workdir, "hparams")
    ]


def custom_scalars_layouts(workdir):
    """Every Custom Scalars layout in ``workdir``'s event files, in order."""
    return [
        layout_pb2.Layout.FromString(tf.make_ndarray(value.tensor).item())
        for value in plugin_values(workdir, "custom_scalars")
    ]


def test_a_run_writes_grouped_tags_its_flags_and_hparams(tmp_path, read_summaries):
    workdir = str(tmp_path / "run")
    config = tiny_vector(
        workdir,
        "ring2d",
        loss="wgan-gp",
        train_steps=4,
        log_every=2,
        summary_every=2,
        image_every=100,
        checkpoint_every=100,
        eval_every=2,
        eval_samples=300,
        best_metric="reverse_kl",
    )
    loop.train(config)
    tags = set(read_summaries(workdir))
    grouped = {summaries.summary_tag(name) for name in STEP_METRICS}
    grouped |= {"loss/gradient_penalty", "D/wasserstein_estimate", "speed/steps_per_sec"}
    assert grouped <= tags
    assert {"eval/modes", "eval/high_quality", "eval/reverse_kl"} <= tags
    assert not tags & (set(TAGS) | STEP_METRICS)  # no bare step metric is left

    summaries_read = read_summaries(workdir)
    [(step, table)] = summaries_read["config/flags"]
    assert step == 0 and "| `loss` | `wgan-gp` |" in table and "| `train_steps` | `4` |" in table

    # A new best at every evaluation with a better reverse KL; the last is the best.
    best = summaries_read["best/reverse_kl"]
    evaluated = dict(summaries_read["eval/reverse_kl"])
    assert best and all(value == evaluated[step] for step, value in best)
    finite = [v for v in evaluated.values() if np.isfinite(v)]
    assert best[-1][1] == min(finite)

    data = hparams_plugin_data(workdir)
    [start] = [d.session_start_info for d in data if d.HasField("session_start_info")]
    assert start.group_name == os.path.abspath(workdir)  # not a hash
    assert start.hparams["loss"].string_value == "wgan-gp"
    assert start.hparams["train_steps"].number_value == 4
    assert start.hparams["g_hidden_units"].string_value == "16"
    assert "image_size" not in start.hparams  # no effect on a vector run
    [experiment] = [d.experiment for d in data if d.HasField("experiment")]
    declared = [info.name for info in experiment.hparam_infos]
    assert {"loss", "train_steps", "image_size"} <= set(declared)  # every field, for all runs
    assert declared[:4] == ["loss", "g_lr", "d_lr", "batch_size"]
    watched = {"alarm_coverage", "allow_flag_changes", "workdir"}
    assert not watched & (set(declared) | set(start.hparams))
    # The columns TensorBoard 2.21 opens the tab on: it sorts by `differs`, then by name.
    shown = sorted(experiment.hparam_infos, key=lambda info: (not info.differs, info.name))
    assert [info.name for info in shown[:5]] == [
        "architecture",
        "batch_size",
        "d_lr",
        "g_lr",
        "loss",
    ]
    assert not any(info.differs for info in shown[5:])
    metrics = {info.name.tag for info in experiment.metric_infos}
    assert metrics == {
        "loss/d_loss",
        "loss/g_loss",
        "eval/modes",
        "eval/high_quality",
        "eval/reverse_kl",
        "best/reverse_kl",
    }

    [layout] = custom_scalars_layouts(workdir)
    assert [c.title for c in layout.category] == ["losses", "evaluation", "D and G"]
    losses, evaluation = layout.category[0].chart, layout.category[1].chart
    assert list(losses[0].multiline.tag) == ["^loss/d_loss$", "^loss/g_loss$"]
    assert list(losses[2].multiline.tag) == ["^loss/gradient_penalty$"]
    charts = {chart.title: list(chart.multiline.tag) for chart in evaluation}
    assert charts == {
        "modes": ["^eval/modes$"],
        "high_quality": ["^eval/high_quality$"],
        "reverse_kl": ["^eval/reverse_kl$", "^best/reverse_kl$"],
    }
    assert not layout.category[0].closed and layout.category[2].closed


def test_hparams_columns_name_every_field_once():
    order = summaries.hparams_order()
    fields = [f.name for f in dataclasses.fields(Config)]
    assert sorted(order) == sorted(set(fields) - set(summaries.NOT_HPARAMS))
    assert set(summaries.NOT_HPARAMS) <= set(fields) and set(summaries.SHOWN_HPARAMS) <= set(order)
    assert order[: len(summaries.LEADING_HPARAMS)] == list(summaries.LEADING_HPARAMS)


def test_a_run_without_evaluation_has_no_evaluation_charts(tmp_path):
    metrics = ["d_loss", "d_loss_real", "d_loss_fake", "g_loss", "d_accuracy", "steps_per_sec"]
    layout = summaries.scalars_layout(tiny_vector(tmp_path), metrics)
    assert [c.title for c in layout.category] == ["losses", "D and G"]
    # No penalty, no grad norms: those charts are left out, not drawn empty.
    losses, others = ([chart.title for chart in c.chart] for c in layout.category)
    assert losses == ["D and G", "D on real and fake"]
    assert others == ["D's accuracy", "steps per second"]


def test_a_resumed_run_writes_its_flags_at_the_step_it_resumes(tmp_path, read_summaries):
    every = dict(log_every=2, summary_every=2, image_every=100, checkpoint_every=2)
    loop.train(tiny_vector(tmp_path, train_steps=2, **every))
    loop.train(tiny_vector(tmp_path, train_steps=4, **every))
    flags = read_summaries(str(tmp_path))["config/flags"]
    assert [step for step, _ in flags] == [0, 2]
    assert "| `train_steps` | `2` |" in flags[0][1] and "| `train_steps` | `4` |" in flags[1][1]
    starts = [d for d in hparams_plugin_data(str(tmp_path)) if d.HasField("session_start_info")]
    assert [s.session_start_info.hparams["train_steps"].number_value for s in starts] == [2, 4]


@pytest.mark.parametrize(
    "seconds, text",
    [
        (0, "0s"),
        (0.4, "0s"),
        (12, "12s"),
        (59.4, "59s"),
        (59.6, "1m00s"),  # rounded before it is split: never "60s"
        (60, "1m00s"),
        (245, "4m05s"),
        (3599, "59m59s"),
        (3599.6, "1h00m"),
        (3600, "1h00m"),
        (3659, "1h00m"),  # seconds dropped past an hour
        (3720, "1h02m"),
        (100 * 3600 + 60, "100h01m"),
        (math.nan, "?"),
        (math.inf, "?"),
        (-1, "?"),
    ],
)
def test_format_duration(seconds, text):
    assert run_log.format_duration(seconds) == text


@pytest.mark.parametrize(
    "step, steps_per_sec, eta",
    [
        (100, 2.0, "eta=7m30s"),  # 900 steps left at 2 steps/s
        (1000, 13.44, "eta=0s"),  # done
        (1000, math.nan, "eta=0s"),
        (100, math.nan, "eta=?"),
        (100, 0.0, "eta=?"),
    ],
)
def test_log_line_ends_with_the_time_left(step, steps_per_sec, eta):
    metrics = {"d_loss": tf.constant(1.0), "g_loss": tf.constant(2.0)}
    line = run_log.log_line(step, 1000, metrics, steps_per_sec)
    assert line.endswith(f" steps_per_sec={steps_per_sec:.2f} {eta}")
