"""The TensorBoard tags of the scalars: each metric under its group."""

import pytest
from configs import tiny_vector

from dcgan import summaries
from dcgan.builder import build_trainer

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
    names = trainer._metric_names  # everything the step returns, in its order
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
