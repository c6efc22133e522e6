"""SAGAN's self-attention (dcgan.gan.attention): the block against NumPy, where the nets
put it, which sides a run may ask for, and runs that train with it in one trace,
resume bit-exactly and keep float32 outputs under mixed precision."""

import keras
import numpy as np
import pytest
from configs import from_flags, rewound_copy, tiny_image

from dcgan.config import ConfigError
from dcgan.gan import attention, choices, models, resnet, spectral
from dcgan.run import loop


def test_the_block_is_x_plus_gamma_times_softmax_attention():
    inputs = keras.Input((4, 5, 16))
    block = keras.Model(inputs, attention.self_attention(inputs, name="att"))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 4, 5, 16)).astype(np.float32)
    # gamma starts at 0: the block starts as the identity.
    np.testing.assert_array_equal(block(x).numpy(), x)
    block.get_layer("att_gamma").gamma.assign(0.7)
    for role in ("query", "key", "value"):
        layer = block.get_layer(f"att_{role}")
        kernel, bias = layer.get_weights()
        layer.set_weights([kernel, rng.normal(size=bias.shape).astype(np.float32)])
    assert block.get_layer("att_query").kernel.shape == (1, 1, 16, 2)  # C / 8

    def project(role):  # a 1x1 convolution is a matrix product per position
        kernel, bias = block.get_layer(f"att_{role}").get_weights()
        return x.reshape(2, 20, 16) @ kernel[0, 0] + bias

    query, key, value = project("query"), project("key"), project("value")
    scores = query @ key.transpose(0, 2, 1)  # [2, 20, 20]: position i against j
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    expected = x + 0.7 * (weights @ value).reshape(2, 4, 5, 16)
    np.testing.assert_allclose(block(x).numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("architecture", ["dcgan", "resnet"])
def test_both_nets_attend_at_the_side_asked_for(architecture):
    if architecture == "dcgan":
        g = models.dcgan_generator(
            image_size=32, channels=1, latent_dim=8, base_width=4, attention_size=16
        )
        d = models.dcgan_discriminator(
            image_size=32, channels=1, base_width=4, norm="none", spectral_norm=True,
            attention_size=16,
        )  # fmt: skip
    else:
        g = resnet.resnet_generator(
            image_size=32, channels=1, latent_dim=8, base_width=4, attention_size=16
        )
        d = resnet.resnet_discriminator(
            image_size=32, channels=1, base_width=4, spectral_norm=True, attention_size=16
        )
    for net in (g, d):
        assert net.get_layer("attention_add").output.shape[1:3] == (16, 16)
        assert sum(layer.name == "attention_gamma" for layer in net.layers) == 1
    # SAGAN normalizes D's attention spectrally with the rest of D; G keeps plain convs.
    assert isinstance(d.get_layer("attention_query"), spectral.SpectralConv2D)
    assert not isinstance(g.get_layer("attention_query"), spectral.SpectralConv2D)
    assert "attention_add" not in [layer.name for layer in models.dcgan_generator(
        image_size=32, channels=1, latent_dim=8, base_width=4
    ).layers]  # fmt: skip


def test_the_sides_both_nets_reach():
    # G's hidden maps after each doubling below the image, that a D block outputs too.
    assert choices.attention_sizes("dcgan", 32, 4) == (8, 16)
    assert choices.attention_sizes("resnet", 28, 7) == (14,)
    assert choices.attention_sizes("resnet", 128, 4) == (8, 16, 32, 64)
    assert choices.attention_sizes("dcgan", 64, 8) == (16, 32)  # G starts at 8
    with pytest.raises(ConfigError, match=r"allowed: 0 \(none\) or a side both nets reach at "):
        from_flags("--workdir=unused", "--attention_size=4")
    with pytest.raises(ConfigError, match="--attention_size has no effect here"):
        from_flags("--workdir=unused", "--dataset=ring2d", "--attention_size=8")


def test_a_run_with_attention_resumes_bit_exactly(tmp_path, capsys):
    def config(workdir):
        every = dict(checkpoint_every=2, image_every=100, log_every=100)
        return tiny_image(workdir, attention_size=14, g_ema_decay=0.9, train_steps=3, **every)

    whole = loop.train(config(tmp_path / "whole"))
    assert whole.tracing_counts() == {"train_step": 1, "generate": 1}
    rewound_copy(tmp_path / "whole", tmp_path / "split", 2)
    capsys.readouterr()
    resumed = loop.train(config(tmp_path / "split"))
    assert "resuming from step 2; training to step 3" in capsys.readouterr().out
    pairs = zip(
        whole.generator.weights + whole.discriminator.weights + whole.generator_ema.weights,
        resumed.generator.weights + resumed.discriminator.weights + resumed.generator_ema.weights,
        strict=True,
    )
    for a, b in pairs:
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    gamma = whole.generator.get_layer("attention_gamma").gamma.numpy()
    assert gamma != 0  # it learned: the weight is trained like any other


def test_a_mixed_precision_resnet_with_attention_trains_in_one_trace(tmp_path):
    config = tiny_image(
        tmp_path / "run",
        architecture="resnet",
        image_size=32,
        attention_size=8,
        spectral_norm=True,
        loss="hinge",
        precision="mixed_bfloat16",
        train_steps=1,
        image_every=100,
    )
    trainer = loop.train(config)
    assert trainer.tracing_counts()["train_step"] == 1
    assert trainer.generator.get_layer("attention_scores").compute_dtype == "bfloat16"
    assert trainer.generate(trainer.fixed_noise).dtype == "float32"
