"""dcgan.gan.conditioning and the conditional nets and step: conditional batch norm, the
projection and ACGAN discriminators and their losses against NumPy, labels through
every update schedule."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dcgan.distribute.replicas import ReplicaRandom
from dcgan.gan import conditioning, models, objective, resnet
from dcgan.gan.noise import NoiseDistribution
from dcgan.step.trainer import Trainer

K = 5
LATENT = 6
BATCH = 8


def test_class_affine_scales_and_shifts_each_channel_by_its_class():
    layer = conditioning.ClassAffine(3)
    x = np.random.default_rng(0).normal(size=(4, 2, 2, 5)).astype(np.float32)
    labels = np.array([2, 0, 2, 1], np.int32)
    layer.build([x.shape, labels.shape])
    x, labels_tensor = tf.constant(x), tf.constant(labels)
    np.testing.assert_array_equal(layer([x, labels_tensor]).numpy(), x)  # gamma 1, beta 0 at first
    gamma = np.random.default_rng(1).normal(size=(3, 5)).astype(np.float32)
    beta = np.random.default_rng(2).normal(size=(3, 5)).astype(np.float32)
    layer.set_weights([gamma, beta])
    expected = x.numpy() * gamma[labels][:, None, None, :] + beta[labels][:, None, None, :]
    np.testing.assert_allclose(layer([x, labels_tensor]).numpy(), expected, rtol=1e-6)


def _discriminator(kind, architecture="dcgan", **options):
    if architecture == "dcgan":
        return models.dcgan_discriminator(
            image_size=28,
            channels=1,
            base_width=4,
            conditioning=kind,
            num_classes=K,
            **options,
        )
    return resnet.resnet_discriminator(
        image_size=28, channels=1, base_width=2, conditioning=kind, num_classes=K, **options
    )


@pytest.mark.parametrize("architecture", ["dcgan", "resnet"])
def test_projection_d_adds_the_inner_product_of_the_class_embedding(architecture):
    d = _discriminator("projection", architecture, spectral_norm=True)
    images = tf.random.uniform([4, 28, 28, 1], -1, 1, seed=3)
    labels = tf.constant([4, 0, 1, 4])
    logits_layer, projection = d.get_layer("logits"), d.get_layer("projection")
    # phi(x): what the logit reads.
    phi = keras.Model(d.inputs, logits_layer.input)([images, labels]).numpy()
    psi = logits_layer(phi).numpy()[:, 0]
    embedding = projection.normalized_kernel().numpy()  # [F, K], spectrally normalized
    expected = psi + np.einsum("bf,fb->b", phi, embedding[:, labels.numpy()])
    got = d([images, labels]).numpy()
    assert got.shape == (4, 1) and got.dtype == np.float32
    np.testing.assert_allclose(got[:, 0], expected, rtol=1e-4, atol=1e-5)
    assert not projection.use_bias


def test_acgan_d_has_a_class_head_and_its_loss_is_the_weighted_cross_entropy():
    d = _discriminator("acgan")
    images = tf.random.uniform([4, 28, 28, 1], -1, 1, seed=4)
    logits, class_logits = d(images)
    assert logits.shape == (4, 1) and class_logits.shape == (4, K)
    labels = np.array([1, 3, 0, 4])
    cond = conditioning.Conditioning("acgan", K, class_weight=0.5)
    scores = class_logits.numpy().astype(np.float64)
    log_softmax = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    expected = -0.5 * log_softmax[np.arange(4), labels]
    np.testing.assert_allclose(cond.class_loss(class_logits, labels), expected, rtol=1e-5)
    judged, judged_classes = cond.judge(d, images, labels, training=False)
    np.testing.assert_array_equal(judged, logits)
    np.testing.assert_array_equal(judged_classes, class_logits)


def test_conditional_generators_take_z_and_a_class():
    z = tf.random.normal([K, LATENT], seed=5)
    labels = tf.range(K)
    dcgan_g = models.dcgan_generator(
        image_size=28, channels=1, latent_dim=LATENT, base_width=4, num_classes=K
    )
    # The DCGAN G joins z and the class's embedding, as wide as z.
    joined = keras.Model(dcgan_g.inputs, dcgan_g.get_layer("join_label").output)([z, labels])
    embedding = dcgan_g.get_layer("label_embedding").get_weights()[0]  # [K, LATENT]
    np.testing.assert_allclose(joined, np.concatenate([z, embedding], axis=1), rtol=1e-6)
    # The ResNet G, and the DCGAN G with class_norm (z still joined): every norm is
    # non-affine and followed by its class's affine.
    resnet_g = resnet.resnet_generator(
        image_size=28, channels=1, latent_dim=LATENT, base_width=2, num_classes=K
    )
    class_norm_g = models.dcgan_generator(
        image_size=28, channels=1, latent_dim=LATENT, base_width=4, num_classes=K, class_norm=True
    )
    assert class_norm_g.get_layer("join_label")
    rng = np.random.default_rng(6)
    for g in (resnet_g, class_norm_g):
        norms = [layer for layer in g.layers if isinstance(layer, keras.layers.BatchNormalization)]
        affines = [layer for layer in g.layers if isinstance(layer, conditioning.ClassAffine)]
        assert norms and len(affines) == len(norms)
        assert not any(norm.center or norm.scale for norm in norms)
        # Each class's gamma starts at 1 and beta at 0: give them values to be heard.
        for affine in affines:
            affine.set_weights([1 + rng.normal(size=w.shape) for w in affine.get_weights()])
    # With an embedding that says nothing, the class still reaches the image by the norms.
    embedding = class_norm_g.get_layer("label_embedding")
    embedding.set_weights([np.zeros_like(w) for w in embedding.get_weights()])
    for g in (dcgan_g, resnet_g, class_norm_g):
        assert [i.name for i in g.inputs] == ["z", "label"]
        one_class = g([tf.repeat(z[:1], K, axis=0), labels], training=False).numpy()
        assert one_class.shape == (K, 28, 28, 1)
        # One z, different classes, different images (the class is heard).
        assert not np.allclose(one_class[0], one_class[1])


def test_class_norm_needs_a_conditional_g():
    with pytest.raises(ValueError) as raised:
        models.dcgan_generator(image_size=28, channels=1, latent_dim=LATENT, class_norm=True)
    assert str(raised.value) == "class_norm=True needs a conditional G; allowed: num_classes > 1"


def test_conditional_batch_norm_computes_in_bfloat16_and_draws_float32():
    g = resnet.resnet_generator(
        image_size=28,
        channels=1,
        latent_dim=LATENT,
        base_width=2,
        num_classes=K,
        dtype_policy="mixed_bfloat16",
    )
    affine = next(layer for layer in g.layers if isinstance(layer, conditioning.ClassAffine))
    assert affine.compute_dtype == "bfloat16" and affine.gamma.dtype == "float32"
    images = g([tf.random.normal([2, LATENT]), tf.constant([0, 4])], training=True)
    assert images.dtype == tf.float32 and np.isfinite(images.numpy()).all()


def test_bad_conditioning_arguments_are_one_line():
    with pytest.raises(ValueError, match="conditioning='auxiliary' is not supported; allowed"):
        conditioning.Conditioning("auxiliary", 3)
    with pytest.raises(ValueError, match="num_classes=1 is not supported with"):
        conditioning.Conditioning("projection", 1)
    with pytest.raises(ValueError, match="needs vector noise"):
        models.dcgan_generator(
            image_size=32, channels=1, latent_dim=64, noise_shape=(4, 4, 4), num_classes=3
        )


def make_trainer(kind, *, updates="alternating", loss="hinge", **options):
    keras.utils.set_random_seed(0)
    generator = models.dcgan_generator(
        image_size=28, channels=1, latent_dim=LATENT, base_width=4, num_classes=K
    )
    discriminator = _discriminator(kind, norm="layer")
    return Trainer(
        generator=generator,
        discriminator=discriminator,
        g_optimizer=keras.optimizers.Adam(1e-3),
        d_optimizer=keras.optimizers.Adam(1e-3),
        objective=objective.build(loss),
        noise=NoiseDistribution(name="normal", shape=(LATENT,)),
        num_fixed_samples=4,
        updates=updates,
        conditioning=conditioning.Conditioning(kind, K, class_weight=0.7),
        **options,
    )


def labeled_batches():
    def batch(i):
        seed = tf.stack([i, tf.constant(0, tf.int64)])
        images = tf.tanh(tf.random.stateless_normal([BATCH, 28, 28, 1], seed=seed))
        labels = tf.random.stateless_uniform([BATCH], seed=seed + 1, maxval=K, dtype=tf.int32)
        return images, labels

    return tf.data.Dataset.range(1000).map(batch)


def test_a_penalty_is_taken_on_the_logit_of_the_class():
    # wgan-gp: a penalty on D's input gradient, through the projection of the class.
    trainer = make_trainer("projection", loss="wgan-gp")
    metrics = trainer.train_step(iter(labeled_batches()))
    assert all(np.isfinite(float(v)) for v in metrics.values())
    assert float(metrics["gradient_penalty"]) > 0


def test_acgan_d_update_matches_an_independent_computation():
    trainer = make_trainer("acgan")
    real, labels = next(iter(labeled_batches()))
    # The fakes D's update will draw: of the real batch's classes.
    rng = ReplicaRandom(
        tf.random.Generator.from_state(trainer.noise_rng.state.numpy(), trainer.noise_rng.algorithm)
    )
    fake = trainer.generator([rng.normal([BATCH, LATENT]), labels], training=True)
    r, r_classes = trainer.discriminator(real, training=True)
    f, f_classes = trainer.discriminator(fake, training=True)

    def cross_entropy(scores):
        scores = scores.numpy().astype(np.float64)
        log_softmax = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
        return -log_softmax[np.arange(BATCH), labels.numpy()]

    class_loss = 0.7 * (cross_entropy(r_classes) + cross_entropy(f_classes))
    hinge = np.maximum(0, 1 - r.numpy()[:, 0]) + np.maximum(0, 1 + f.numpy()[:, 0])
    metrics = trainer.discriminator_update((real, labels))
    np.testing.assert_allclose(metrics["d_class_loss"], class_loss.mean(), rtol=1e-5)
    np.testing.assert_allclose(metrics["d_loss"], (hinge + class_loss).mean(), rtol=1e-5)


@pytest.mark.parametrize("kind", ["projection", "acgan"])
@pytest.mark.parametrize("updates", ["alternating", "simultaneous", "reuse_fakes"])
def test_every_schedule_trains_a_conditional_pair_in_one_trace(kind, updates):
    trainer = make_trainer(kind, updates=updates)
    iterator = iter(labeled_batches())
    before = [w.numpy() for w in trainer.generator.trainable_weights]
    for _ in range(2):
        metrics = trainer.train_step(iterator)
    assert ("d_class_loss" in metrics) == (kind == "acgan")
    assert all(np.isfinite(float(v)) for v in metrics.values())
    after = trainer.generator.trainable_weights
    # The class embedding of G learns too.
    moved = [not np.array_equal(a, b.numpy()) for a, b in zip(before, after, strict=True)]
    assert all(moved)
    grid = trainer.generate(tf.random.normal([7, LATENT]))  # classes in turn: 0..4, 0, 1
    assert grid.shape == (7, 28, 28, 1)
    np.testing.assert_array_equal(trainer.conditioning.classes_in_turn(7), [0, 1, 2, 3, 4, 0, 1])
    assert trainer.tracing_counts() == {"train_step": 1, "generate": 1}
