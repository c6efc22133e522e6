"""SNGAN's ResNet G and D (dcgan.gan.resnet): shapes, parameter counts by hand, the
published shortcuts and upsampling, global sum pooling, and a run that trains in one
trace, under mixed precision too, and resumes bit-exactly."""

import numpy as np
import pytest
import tensorflow as tf
from configs import assert_same_nets, from_flags, rewound_copy, tiny_image

from dcgan.config import ConfigError
from dcgan.gan import resnet, spectral
from dcgan.run import loop
from dcgan.run.builder import build_networks


@pytest.mark.parametrize("size, d_blocks", [(28, 4), (32, 4), (64, 5), (128, 6)])
def test_shapes_at_every_image_size(size, d_blocks):
    g = resnet.resnet_generator(image_size=size, channels=3, latent_dim=8, base_width=2)
    d = resnet.resnet_discriminator(image_size=size, channels=6, base_width=2)  # pack 2
    assert g.output_shape == (None, size, size, 3)
    assert d.input_shape == (None, size, size, 6) and d.output_shape == (None, 1)
    # Down to 8 x 8 (7 x 7 for 28 px), then two blocks at that size.
    final = d.get_layer("out_relu").output.shape
    assert final[1:3] == ((7, 7) if size == 28 else (8, 8))
    assert len([layer for layer in d.layers if layer.name.endswith("_add")]) == d_blocks


def test_parameter_counts_of_the_32_px_nets_by_hand():
    # G: width 4 * 4 = 16, from 4 x 4, three up blocks.
    project = 8 * (4 * 4 * 16) + 4 * 4 * 16  # Dense 8 -> 256
    batch_norm = 4 * 16  # gamma, beta, moving mean and variance
    conv3 = 3 * 3 * 16 * 16 + 16
    shortcut = 16 * 16 + 16  # 1x1
    up_block = 2 * batch_norm + 2 * conv3 + shortcut
    to_image = batch_norm + 3 * 3 * 16 * 1 + 1
    g = resnet.resnet_generator(image_size=32, channels=1, latent_dim=8, base_width=4)
    assert g.count_params() == project + 3 * up_block + to_image == 17_633
    # D: width 2 * 4 = 8; optimized block, one down block, two plain blocks, the logit.
    conv3 = 3 * 3 * 8 * 8 + 8
    first = (3 * 3 * 1 * 8 + 8) + conv3 + (1 * 8 + 8)
    down = 2 * conv3 + (8 * 8 + 8)
    plain = 2 * conv3
    d = resnet.resnet_discriminator(image_size=32, channels=1, base_width=4)
    assert d.count_params() == first + down + 2 * plain + (8 + 1) == 4_265


def test_the_shortcuts_and_the_upsampling_are_as_published():
    d = resnet.resnet_discriminator(image_size=32, channels=1, base_width=4)
    # Optimized block: pool, then the 1x1 conv; a down block: the 1x1 conv, then pool.
    assert d.get_layer("block1_shortcut").input is d.get_layer("block1_shortcut_pool").output
    assert d.get_layer("block2_shortcut_pool").input is d.get_layer("block2_shortcut").output
    # The first block has no activation before its first convolution; the others do.
    assert d.get_layer("block1_conv_a").input is d.input
    assert d.get_layer("block2_conv_a").input is d.get_layer("block2_relu_a").output
    # The last two blocks add their input itself.
    assert d.get_layer("block3_add").input[1] is d.get_layer("block2_add").output
    assert d.get_layer("block4_add").input[1] is d.get_layer("block3_add").output
    g = resnet.resnet_generator(image_size=32, channels=1, latent_dim=8, base_width=4)
    for i in (1, 2, 3):
        # Nearest upsampling, then the convolution, in both paths of each block.
        assert g.get_layer(f"up{i}_upsample").interpolation == "nearest"
        assert g.get_layer(f"up{i}_conv_a").input is g.get_layer(f"up{i}_upsample").output
        shortcut = g.get_layer(f"up{i}_shortcut")
        assert shortcut.input is g.get_layer(f"up{i}_shortcut_upsample").output
        assert shortcut.kernel.shape == (1, 1, 16, 16)


def test_d_sums_its_last_activations_over_positions():
    d = resnet.resnet_discriminator(image_size=32, channels=1, base_width=4)
    logits = d.get_layer("logits")
    logits.set_weights([np.ones((8, 1), np.float32), np.zeros(1, np.float32)])
    images = np.random.default_rng(0).uniform(-1, 1, (3, 32, 32, 1)).astype(np.float32)
    features = tf.keras.Model(d.input, d.get_layer("out_relu").output)(images).numpy()
    np.testing.assert_allclose(d(images).numpy()[:, 0], features.sum(axis=(1, 2, 3)), rtol=1e-5)


def test_spectral_norm_normalizes_every_layer_of_d():
    d = resnet.resnet_discriminator(image_size=32, channels=1, base_width=2, spectral_norm=True)
    weighted = [layer for layer in d.layers if getattr(layer, "kernel", None) is not None]
    assert weighted and all(
        isinstance(layer, (spectral.SpectralConv2D, spectral.SpectralDense)) for layer in weighted
    )


def test_mixed_precision_keeps_images_and_logits_float32():
    config = tiny_image("unused", architecture="resnet", image_size=32, precision="mixed_bfloat16")
    g, d = build_networks(config)
    images = g(tf.random.normal([2, config.latent_dim]))
    assert images.dtype == tf.float32 and d(images).dtype == tf.float32
    assert g.get_layer("up1_conv_a").compute_dtype == "bfloat16"


def test_dcgan_only_options_are_refused_with_resnet(tmp_path):
    for flag in ("--kernel_size=3", "--d_norm=layer", "--g_activation=selu", "--d_dropout=0.2"):
        with pytest.raises(ConfigError, match="has no effect here: it needs "):
            from_flags(f"--workdir={tmp_path}", "--architecture=resnet", flag)
    # D has no batch norm to conflict with a per-example penalty.
    config = from_flags(f"--workdir={tmp_path}", "--architecture=resnet", "--loss=wgan-gp")
    assert config.architecture == "resnet" and config.d_norm == "batch"  # unused default
    with pytest.raises(ConfigError, match="--architecture has no effect here"):
        from_flags(f"--workdir={tmp_path}", "--dataset=ring2d", "--architecture=resnet")


# Hinge with spectral norm in both nets and a weight average of G: the SNGAN recipe.
RESNET_RUN = dict(
    architecture="resnet",
    loss="hinge",
    spectral_norm=True,
    g_spectral_norm=True,
    g_ema_decay=0.9,
    train_steps=3,
    checkpoint_every=2,
    image_every=100,
    log_every=100,
)


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """A 3-step ResNet run on one device, checkpointed at step 2 and at its end, and
    its trainer: the reference the tests below resume from and compare with (tracing a
    ResNet step costs seconds, so the module traces it once)."""
    workdir = tmp_path_factory.mktemp("whole") / "run"
    return workdir, loop.train(tiny_image(workdir, **RESNET_RUN))


def test_a_resnet_run_trains_in_one_trace_and_resumes_bit_exactly(whole, tmp_path, capsys):
    workdir, trainer = whole
    assert trainer.tracing_counts() == {"train_step": 1, "generate": 1}
    # The weight average copies G's power-iteration estimates.
    g_u = [v for v in trainer.generator.non_trainable_variables if v.path.endswith("/u")]
    ema_u = [v for v in trainer.generator_ema.non_trainable_variables if v.path.endswith("/u")]
    assert len(g_u) == len(ema_u) > 0
    for u, copied in zip(g_u, ema_u, strict=True):
        np.testing.assert_array_equal(copied.numpy(), u.numpy())
    rewound_copy(workdir, tmp_path / "split", 2)
    capsys.readouterr()
    resumed = loop.train(tiny_image(tmp_path / "split", **RESNET_RUN))
    assert "resuming from step 2; training to step 3" in capsys.readouterr().out
    for a, b in zip(trainer.generator.weights, resumed.generator.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip(trainer.discriminator.weights, resumed.discriminator.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_a_mirrored_resnet_run_equals_the_one_device_run(whole, tmp_path):
    """Batch norm in G with synchronized statistics and spectral norm in both nets: two
    replicas of half the batch train the nets (and the u estimates) one device trains."""
    mirror = loop.train(
        tiny_image(
            tmp_path / "two",
            strategy="mirrored",
            devices=("/cpu:0", "/cpu:1"),
            sync_batch_norm=True,
            **RESNET_RUN,
        )
    )
    assert mirror.tracing_counts()["train_step"] == 1
    assert_same_nets(whole[1], mirror)


@pytest.mark.parametrize("architecture", ["dcgan", "resnet"])
def test_orthogonal_init_gives_every_kernel_orthonormal_rows_or_columns(architecture):
    config = tiny_image(
        "unused",
        architecture=architecture,
        image_size=32,
        weight_init="orthogonal",
        attention_size=16,
        d_norm="none" if architecture == "dcgan" else "batch",
    )
    kernels = [
        layer.kernel.numpy()
        for net in build_networks(config)
        for layer in net.layers
        if getattr(layer, "kernel", None) is not None
    ]
    assert len(kernels) > 10  # the attention's projections among them
    for kernel in kernels:
        matrix = kernel.reshape(-1, kernel.shape[-1])
        gram = matrix.T @ matrix if matrix.shape[0] >= matrix.shape[1] else matrix @ matrix.T
        np.testing.assert_allclose(gram, np.eye(len(gram)), atol=1e-4)
    # The default: DCGAN's N(0, 0.02).
    default = build_networks(tiny_image("unused", image_size=32))[0]
    assert abs(float(np.std(default.get_layer("up1").kernel.numpy())) - 0.02) < 0.002
