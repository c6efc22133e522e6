"""dcgan.evaluation.features and .classifiers: the extractors, training, the shipped one."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from dcgan import data
from dcgan.data import labeled
from dcgan.evaluation import classifiers, features


def tiny_classifier(path, *, input_shape=(8, 8, 1)):
    inputs = keras.Input(input_shape)
    hidden = keras.layers.Flatten(name="flat")(inputs)
    hidden = keras.layers.Dense(5, activation="relu", name="features")(hidden)
    outputs = keras.layers.Dense(3, name="logits")(hidden)
    model = keras.Model(inputs, outputs)
    model.save(path)
    return model


def test_classifier_extractor_gives_the_layer_and_the_argmax_class(tmp_path):
    path = str(tmp_path / "classifier.keras")
    model = tiny_classifier(path)
    images = np.random.default_rng(1).uniform(-1, 1, (300, 8, 8, 1)).astype(np.float32)
    extractor = features.classifier_extractor(path)  # penultimate: "features"
    got, classes = extractor(images)  # 300 images: two chunks of 256 and 44
    expected = keras.Model(model.inputs, model.get_layer("features").output)(images).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(classes, model(images).numpy().argmax(axis=1))
    assert extractor.description == "classifier.keras layer features"
    assert extractor.num_classes == 3
    flat = features.classifier_extractor(path, layer="flat")
    assert flat(images)[0].shape == (300, 64)


def test_classifier_extractor_fits_the_size_and_channels_of_its_input(tmp_path):
    path = str(tmp_path / "classifier.keras")
    model = tiny_classifier(path)  # 8 x 8 x 1
    rgb = np.random.default_rng(2).uniform(-1, 1, (5, 16, 16, 3)).astype(np.float32)
    got, _ = features.classifier_extractor(path)(rgb)
    # Averaging the channels and resizing commute (both are linear): average first here.
    gray = tf.image.resize(rgb.mean(axis=-1, keepdims=True), [8, 8], antialias=True)
    expected = keras.Model(model.inputs, model.get_layer("features").output)(gray).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_classifier_extractor_errors_are_one_line(tmp_path):
    path = str(tmp_path / "classifier.keras")
    tiny_classifier(path)
    with pytest.raises(features.EvaluationError, match="no layer 'pool'; its layers: "):
        features.classifier_extractor(path, layer="pool")
    missing = str(tmp_path / "missing.keras")
    with pytest.raises(features.EvaluationError, match="train one with python -m dcgan.classifier"):
        features.classifier_extractor(missing)
    (tmp_path / "junk.keras").write_text("not a zip")
    with pytest.raises(features.EvaluationError, match="cannot load a Keras model from"):
        features.classifier_extractor(str(tmp_path / "junk.keras"))
    inputs = keras.Input([8, 8, 1])
    keras.Model(inputs, keras.layers.Conv2D(2, 3)(inputs)).save(tmp_path / "conv.keras")
    with pytest.raises(features.EvaluationError, match="is not a classifier"):
        features.classifier_extractor(str(tmp_path / "conv.keras"))


def test_split_is_seeded_disjoint_and_complete():
    train, test = classifiers.split(100, held_out=0.1, seed=3)
    assert len(test) == 10 and len(train) == 90
    assert sorted([*train, *test]) == list(range(100))
    again = classifiers.split(100, held_out=0.1, seed=3)
    np.testing.assert_array_equal(test, again[1])
    assert not np.array_equal(test, classifiers.split(100, held_out=0.1, seed=4)[1])
    assert [len(part) for part in classifiers.split(5, held_out=0.01, seed=0)] == [4, 1]
    assert [len(part) for part in classifiers.split(5, held_out=0.99, seed=0)] == [1, 4]


def shape_classes(count=240, size=8):
    """Three classes told apart by where the ink is: left, right or top half. Any
    classifier learns them exactly, also through ``augment``'s dimming and blur."""
    rng = np.random.default_rng(0)
    labels = np.arange(count) % 3
    masks = np.zeros((3, size, size), bool)
    masks[0, :, : size // 2] = masks[1, :, size // 2 :] = masks[2, : size // 2, :] = True
    levels = rng.integers(180, 256, count)[:, None, None] * masks[labels]
    return labeled.LabeledImages(
        levels[..., None].astype(np.uint8), labels.astype(np.int64), ("left", "right", "top")
    )


def test_train_save_and_load_a_classifier(tmp_path):
    model, record = classifiers.train_classifier(
        shape_classes(), epochs=20, batch_size=32, seed=0, log=lambda line: None
    )
    assert record["held_out_accuracy"] == 1.0
    assert (record["num_train"], record["num_held_out"], record["epochs"]) == (216, 24, 20)
    assert [layer.name for layer in model.layers][-2:] == [classifiers.FEATURE_LAYER, "logits"]
    path = str(tmp_path / "c.keras")
    classifiers.save_classifier(model, path, {**record, "class_names": ["left", "right", "top"]})
    assert classifiers.load_record(path)["class_names"] == ["left", "right", "top"]
    assert classifiers.load_record(str(tmp_path / "other.keras")) is None
    loaded = keras.models.load_model(path, compile=False)
    assert getattr(loaded, "optimizer", None) is None  # the network only: a small file
    images = shape_classes().images.astype(np.float32) / 127.5 - 1
    np.testing.assert_allclose(loaded(images), model(images), rtol=1e-5, atol=1e-5)


def test_the_shipped_glyph_classifier_matches_its_record():
    path = features.default_classifier("glyphs")
    assert path == features.SHIPPED_CLASSIFIERS["glyphs"] and os.path.isfile(path)
    assert features.default_classifier("folder") is None
    record = classifiers.load_record(path)
    assert record["class_names"] == list(data.glyphs.GLYPH_CHARACTERS)
    assert (record["image_size"], record["channels"], record["dataset"]) == (32, 1, "glyphs")
    assert record["held_out_accuracy"] >= 0.9
    # The record's accuracy is this file's, on the split dcgan.classifier held out.
    glyph_set = labeled.labeled_images("glyphs")
    _, test = classifiers.split(
        len(glyph_set.labels), held_out=record["held_out"], seed=record["seed"]
    )
    extractor = features.make_extractor(classifier="", layer="", dataset="glyphs")
    assert extractor.num_classes == 62 and extractor.description.endswith("layer features")
    found, classes = extractor(glyph_set.images[test].astype(np.float32) / 127.5 - 1)
    assert found.shape == (len(test), 128)
    accuracy = np.mean(classes == glyph_set.labels[test])
    assert accuracy == pytest.approx(record["held_out_accuracy"], abs=1e-6)


def test_labeled_glyphs_are_labeled_by_character():
    glyph_set = labeled.labeled_images("glyphs", channels=3)
    assert glyph_set.images.shape == (11_904, 32, 32, 3)
    assert glyph_set.class_names[:3] == ("A", "B", "C") and len(glyph_set.class_names) == 62
    np.testing.assert_array_equal(glyph_set.labels[:64], np.arange(64) % 62)
    gray = data.render_glyphs(image_size=32)
    np.testing.assert_array_equal(glyph_set.images[..., 1], gray[..., 0])


def write_png(path, value, size=12):
    import imageio.v3 as iio

    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, np.full((size, size, 3), value, np.uint8))


def test_labeled_folder_has_one_class_per_subfolder(tmp_path):
    write_png(tmp_path / "zebra" / "a.png", 200)
    write_png(tmp_path / "ant" / "x" / "b.png", 10)  # nested: still the class "ant"
    write_png(tmp_path / "ant" / "c.png", 20)
    write_png(tmp_path / ".hidden" / "d.png", 30)
    (tmp_path / "notes.txt").write_text("not a class")
    found = labeled.labeled_images("folder", data_dir=str(tmp_path), image_size=4, channels=1)
    assert found.class_names == ("ant", "zebra")
    np.testing.assert_array_equal(found.labels, [0, 0, 1])  # ant/c.png, ant/x/b.png, zebra
    assert found.images.shape == (3, 4, 4, 1)
    np.testing.assert_array_equal(found.images[:, 0, 0, 0], [20, 10, 200])


@pytest.mark.parametrize(
    "layout, kwargs, message",
    [
        ({}, {"image_size": 4}, "has 0 subfolder(s); a classifier needs labeled images"),
        ({"only": 1}, {"image_size": 4}, "has 1 subfolder(s)"),
        ({"a": 1, "b": 0}, {"image_size": 4}, "class subfolder 'b' holds no image files"),
        ({"a": 1, "b": 1}, {}, "pass --image_size"),
        (None, {"image_size": 4}, "is not a directory"),
    ],
)
def test_labeled_folder_errors(tmp_path, layout, kwargs, message):
    root = tmp_path / "set"
    if layout is not None:
        root.mkdir()
        (root / "loose.png").write_bytes(b"")  # images outside any subfolder have no class
        for name, count in layout.items():
            (root / name).mkdir()
            if count:
                write_png(root / name / "i.png", 5)
    with pytest.raises(data.DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        labeled.labeled_images("folder", data_dir=str(root), **kwargs)


def test_labeled_refuses_sets_without_labels():
    with pytest.raises(data.DataError, match="'ring2d' has no labels .* allowed: glyphs, mnist"):
        labeled.labeled_images("ring2d")
    with pytest.raises(data.DataError, match="channels 2 is invalid"):
        labeled.labeled_images("glyphs", channels=2)


def test_augment_dims_blurs_and_adds_noise_as_numpy_computes_it():
    rng = np.random.default_rng(5)
    images = rng.uniform(-1, 1, (3, 6, 7, 2)).astype(np.float32)
    seed = tf.constant([4, 9], tf.int64)
    got = classifiers.augment(tf.constant(images), seed).numpy()
    # The same draws, then the arithmetic in NumPy.
    gain_seed, blur_seed, scale_seed, noise_seed = tf.unstack(
        tf.random.experimental.stateless_split(seed, 4)
    )
    gain = tf.random.stateless_uniform([3, 1, 1, 1], gain_seed, 0.5, 1.0).numpy()
    sigma = float(tf.random.stateless_uniform([], blur_seed, 0.0, 1.0))
    stddev = tf.random.stateless_uniform([3, 1, 1, 1], scale_seed, 0.0, 0.1).numpy()
    noise = tf.random.stateless_normal(images.shape, noise_seed).numpy()
    assert 0.5 <= gain.min() and gain.max() <= 1.0 and 0 < sigma < 1
    dimmed = (images.astype(np.float64) + 1) * gain - 1
    taps = np.exp(-0.5 * (np.arange(-2, 3) / sigma) ** 2)
    kernel = np.outer(taps, taps) / taps.sum() ** 2
    padded = np.pad(dimmed, [(0, 0), (2, 2), (2, 2), (0, 0)], mode="symmetric")
    blurred = np.zeros_like(dimmed)
    for row in range(6):
        for column in range(7):
            window = padded[:, row : row + 5, column : column + 5, :]
            blurred[:, row, column, :] = np.einsum("bijc,ij->bc", window, kernel)
    expected = np.clip(blurred + stddev * noise, -1, 1)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    again = classifiers.augment(tf.constant(images), seed).numpy()
    np.testing.assert_array_equal(got, again)
    other = classifiers.augment(tf.constant(images), tf.constant([4, 10], tf.int64)).numpy()
    assert not np.allclose(got, other)
