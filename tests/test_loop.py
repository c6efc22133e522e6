"""The eager loop, in process, on shrunk configs: files, summaries, resume, refusals."""

import os

import imageio.v3 as iio
import numpy as np
import pytest
import tensorflow as tf
from configs import STEP_METRICS, tiny_image
from runner import log_lines

from dcgan import data
from dcgan.config import Config, ConfigError
from dcgan.io import plots
from dcgan.run import loop, snapshots
from dcgan.run.builder import build_trainer
from dcgan.run.checkpoints import CheckpointError
from dcgan.run.summaries import summary_tag

SCALARS = {summary_tag(name) for name in STEP_METRICS} | {"speed/steps_per_sec"}


def tiny_image_config(workdir, **overrides):
    values = dict(
        channels=1,
        train_steps=6,
        log_every=3,
        summary_every=3,
        image_every=3,
        checkpoint_every=3,
    )
    return tiny_image(workdir, **{**values, **overrides})


def snapshot(directory):
    """Every file under ``directory`` with its bytes: to prove nothing was touched."""
    files = {}
    for root, _, names in os.walk(directory):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                files[os.path.relpath(path, directory)] = f.read()
    return files


def fixed_noise(checkpoint):
    return tf.train.load_checkpoint(checkpoint).get_tensor("fixed_noise/.ATTRIBUTES/VARIABLE_VALUE")


def test_run_writes_everything_then_resumes(tmp_path, read_summaries, capsys):
    workdir = tmp_path / "run"
    loop.train(tiny_image_config(workdir))
    out = capsys.readouterr().out
    assert "starting at step 0" in out
    assert log_lines(out)[-1] == "traces: train_step=1 generate=1"
    assert "step 3/6 d_loss=" in out and "step 6/6 d_loss=" in out and "steps_per_sec=" in out

    summaries = read_summaries(str(workdir))
    assert SCALARS | {"D/d_accuracy", "fixed_noise_samples"} <= set(summaries)
    assert [step for step, _ in summaries["loss/d_loss"]] == [3, 6]
    assert [step for step, _ in summaries["fixed_noise_samples"]] == [0, 3, 6]
    assert sorted(os.listdir(workdir / "samples")) == [
        "real.png",
        "step_00000000.png",
        "step_00000003.png",
        "step_00000006.png",
    ]
    # Real images once, beside the fixed-noise grids: as many, in a grid of the same size.
    assert [step for step, _ in summaries["real_samples"]] == [0]
    real = iio.imread(workdir / "samples" / "real.png")
    assert real.shape == iio.imread(workdir / "samples" / "step_00000000.png").shape
    glyphs = {tile.tobytes() for tile in data.render_glyphs(image_size=28)}
    tiles = [
        real[2 + 30 * r : 30 * r + 30, 2 + 30 * c : 30 * c + 30] for r in (0, 1) for c in (0, 1)
    ]
    assert all(tile.reshape(28, 28, 1).tobytes() in glyphs for tile in tiles)
    assert tf.train.latest_checkpoint(str(workdir / "checkpoints")).endswith("ckpt-6")
    assert Config.from_json((workdir / "config.json").read_text()).train_steps == 6
    assert "--train_steps=6\n" in (workdir / "flags.txt").read_text()

    # Resume: continues from 6, keeps the fixed noise, summaries pick up at the new steps.
    trainer = loop.train(tiny_image_config(workdir, train_steps=9))
    out = capsys.readouterr().out
    assert "resuming from step 6" in out and "step 9/9" in out
    assert int(trainer.step.numpy()) == 9
    assert [step for step, _ in read_summaries(str(workdir))["loss/d_loss"]] == [3, 6, 9]
    np.testing.assert_array_equal(
        fixed_noise(str(workdir / "checkpoints" / "ckpt-6")),
        fixed_noise(str(workdir / "checkpoints" / "ckpt-9")),
    )
    assert "step_00000000.png" in os.listdir(workdir / "samples")  # not rewritten at 6
    assert [step for step, _ in read_summaries(str(workdir))["real_samples"]] == [0]
    assert "--train_steps=9\n" in (workdir / "flags.txt").read_text()


def test_vector_run_writes_histograms_and_wgan_scalars(tmp_path, read_summaries):
    config = Config(
        workdir=str(tmp_path),
        dataset="ring2d",
        loss="wgan-gp",
        n_critic=2,
        latent_dim=4,
        g_hidden_units=(8,),
        d_hidden_units=(8,),
        batch_size=16,
        train_steps=4,
        log_every=2,
        summary_every=2,
        image_every=2,
        checkpoint_every=2,
    )
    loop.train(config)
    summaries = read_summaries(str(tmp_path))
    assert SCALARS | {"loss/gradient_penalty", "D/wasserstein_estimate"} <= set(summaries)
    assert "D/d_accuracy" not in summaries
    assert [s for s, _ in summaries["fixed_noise_samples/dim0"]] == [0, 2, 4]
    assert "fixed_noise_samples/dim1" in summaries
    assert [s for s, _ in summaries["fixed_noise_plot"]] == [0, 2, 4]
    plot = iio.imread(tmp_path / "samples" / "step_00000004.png")
    assert plot.shape == (416, 512, 3)  # the 2-D scatter


def test_gaussian1d_plot_draws_d_of_x(tmp_path, monkeypatch):
    config = Config(
        workdir=str(tmp_path),
        dataset="gaussian1d",
        latent_dim=4,
        g_hidden_units=(8,),
        d_hidden_units=(8,),
        batch_size=16,
    )
    trainer = build_trainer(config)
    # A D whose logit is 0 everywhere says 0.5 everywhere: its curve lies on the level line.
    logits = trainer.discriminator.get_layer("logits")
    logits.set_weights([np.zeros_like(w) for w in logits.get_weights()])
    samples = trainer.generate(trainer.fixed_noise).numpy()
    figures = []
    render = plots.render
    monkeypatch.setattr(plots, "render", lambda figure: figures.append(figure) or render(figure))
    plot = snapshots.vector_plot(trainer, config, samples, step=7)
    assert plot.shape == (320, 512, 3)
    (figure,) = figures
    assert "step 7" in figure.axes[0].get_title()
    (curve,) = [line for line in figure.axes[1].get_lines() if line.get_label() == "D(x)"]
    np.testing.assert_allclose(curve.get_ydata(), 0.5)


@pytest.mark.parametrize(
    "loss, label", [("dcgan", "D(x)"), ("wgan-gp", "D(x): critic score, min-max scaled")]
)
def test_a_ring_plot_says_when_d_is_a_rescaled_critic_score(tmp_path, monkeypatch, loss, label):
    config = Config(
        workdir=str(tmp_path),
        dataset="ring2d",
        loss=loss,
        latent_dim=4,
        g_hidden_units=(8,),
        d_hidden_units=(8,),
        batch_size=16,
    )
    trainer = build_trainer(config)
    figures = []
    render = plots.render
    monkeypatch.setattr(plots, "render", lambda figure: figures.append(figure) or render(figure))
    snapshots.vector_plot(trainer, config, trainer.generate(trainer.fixed_noise).numpy(), step=3)
    (figure,) = figures
    (image,) = figure.axes[0].get_images()
    assert image.colorbar.ax.get_ylabel() == label


def test_learning_rate_changes_on_resume_only_when_allowed(tmp_path):
    loop.train(tiny_image_config(tmp_path, train_steps=3))
    before = snapshot(tmp_path)
    with pytest.raises(ConfigError, match=r"--g_lr=0.001 differs .*--allow_flag_changes=g_lr"):
        loop.train(tiny_image_config(tmp_path, train_steps=4, g_lr=1e-3))
    assert snapshot(tmp_path) == before
    trainer = loop.train(
        tiny_image_config(
            tmp_path, train_steps=4, g_lr=1e-3, d_lr=3e-3, allow_flag_changes=("g_lr", "d_lr")
        )
    )
    # The restore brought back the saved rates; the new flags must win.
    np.testing.assert_allclose(trainer.g_optimizer.learning_rate.numpy(), 1e-3, rtol=1e-6)
    np.testing.assert_allclose(trainer.d_optimizer.learning_rate.numpy(), 3e-3, rtol=1e-6)


def test_nothing_to_do_when_already_at_train_steps(tmp_path, capsys):
    loop.train(tiny_image_config(tmp_path, train_steps=3))
    before = snapshot(tmp_path)
    loop.train(tiny_image_config(tmp_path, train_steps=3))
    assert "nothing to do" in capsys.readouterr().out
    assert snapshot(tmp_path).keys() == before.keys()


def test_resume_with_a_different_network_is_refused_and_changes_nothing(tmp_path):
    loop.train(tiny_image_config(tmp_path, train_steps=3))
    before = snapshot(tmp_path)
    with pytest.raises(ConfigError, match=r"--latent_dim=9 differs from 8"):
        loop.train(tiny_image_config(tmp_path, latent_dim=9))
    assert snapshot(tmp_path) == before


def test_checkpoint_that_does_not_match_is_refused_and_changes_nothing(tmp_path):
    loop.train(tiny_image_config(tmp_path, train_steps=3))
    os.remove(tmp_path / "config.json")  # lose the record of the saved run's widths
    before = snapshot(tmp_path)
    with pytest.raises(CheckpointError, match=r"ckpt-3 does not match the networks"):
        loop.train(tiny_image_config(tmp_path, g_base_width=8))
    assert snapshot(tmp_path) == before
