"""Class labels from every labeled source: ``make_dataset(labels=True)`` and ``class_names``.

Each test set is 12 images of 3 classes, 32 x 32 gray, whose pixels say what they are:
the top half is the level of the image's class, the bottom-left quarter the level of the
image's own number (the bottom-right is black, so a mirrored image shows it there). So
every (image, label) pair is checked against the pixels, and images are traced by number.
"""

import os
import re
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from test_data_tfds import ClassLabel, fake_tfds

from dcgan import data
from dcgan.data import DataError, arrays, choices, decode, folder_cache, labeled, tfrecord

SIZE = 32
CLASSES = ("cat", "dog", "emu")
CLASS_LEVELS = (40, 120, 200)
COUNT = 12  # image i is of class i % 3
IMAGE_LEVELS = tuple(20 + 15 * i for i in range(COUNT))
BATCH = 3  # an epoch of the set is 4 batches; of half of it, 2
ALLOWED = (
    "allowed: glyphs, mnist, fashion_mnist, cifar10, a folder with one subfolder per class, "
    "tfrecord with image/class/label, npy with <name>_labels.npy beside it, a tfds set with "
    "a label feature"
)


def marked(i):
    """Image i: [SIZE, SIZE] uint8, its class's level on top, its own bottom-left."""
    image = np.zeros((SIZE, SIZE), np.uint8)
    image[: SIZE // 2] = CLASS_LEVELS[i % 3]
    image[SIZE // 2 :, : SIZE // 2] = IMAGE_LEVELS[i]
    return image


def read_marks(images):
    """The class, number and mirroring of each image of a batch [B, S, S, 1] in [-1, 1]."""
    values = (np.asarray(images)[..., 0] + 1) * 127.5
    pixels = np.round(values)
    np.testing.assert_allclose(values, pixels, atol=1e-3)  # the stored levels, exactly
    half = SIZE // 2
    top, left, right = pixels[:, :half], pixels[:, half:, :half], pixels[:, half:, half:]
    assert top.std(axis=(1, 2)).max() == 0
    classes = [CLASS_LEVELS.index(level) for level in top.mean(axis=(1, 2))]
    mirrored = right.max(axis=(1, 2)) > 0
    own = np.where(mirrored, right.mean(axis=(1, 2)), left.mean(axis=(1, 2)))
    return classes, [IMAGE_LEVELS.index(level) for level in own], mirrored.tolist()


def batches(dataset, count):
    return [(images.numpy(), labels.numpy()) for images, labels in dataset.take(count)]


# ---------------------------------------------------------------- the sources


def write_folder(root):
    """The set as a class folder; images 4 and 5 one level deeper in their class."""
    for i in range(COUNT):
        below = "deeper" if i in (4, 5) else ""
        os.makedirs(root / CLASSES[i % 3] / below, exist_ok=True)
        Image.fromarray(marked(i)).save(root / CLASSES[i % 3] / below / f"{i:02d}.png")
    return str(root)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """The set as a folder, TFRecord shards written from it, and an .npy file."""
    root = tmp_path_factory.mktemp("labeled")
    folder = write_folder(root / "folder")
    os.makedirs(root / "shards")
    tfrecord.write_shards(folder, str(root / "shards" / "t"), num_shards=2, labels=True)
    np.save(root / "x.npy", np.stack([marked(i) for i in range(COUNT)]))
    np.save(root / "x_labels.npy", np.arange(COUNT, dtype=np.uint8) % 3)
    return root


SOURCES = ["folder", "folder_memory", "folder_file", "tfrecord", "npy", "tfds", "mnist"]


@pytest.fixture(params=SOURCES)
def source(request, stored, tmp_path, monkeypatch):
    """make_dataset's source options and the class names of one source of the set."""
    kind = request.param
    images = [marked(i) for i in range(COUNT)]
    labels = [i % 3 for i in range(COUNT)]
    if kind.startswith("folder"):
        cache = {"folder": "", "folder_memory": "memory"}.get(kind, str(tmp_path / "c.npy"))
        return dict(name="folder", data_dir=str(stored / "folder"), cache=cache), CLASSES
    if kind == "tfrecord":
        return dict(name="tfrecord", data_pattern=str(stored / "shards" / "t-*")), CLASSES
    if kind == "npy":
        return dict(name="npy", data_file=str(stored / "x.npy")), ("0", "1", "2")
    if kind == "tfds":
        fake = fake_tfds(
            [i[..., None] for i in images], labels=labels, label_feature=ClassLabel(CLASSES)
        )
        monkeypatch.setitem(sys.modules, "tensorflow_datasets", fake)
        return dict(name="tfds:tiny"), CLASSES
    # A Keras set, its loader substituted as tests/test_data_arrays.py does.
    pairs = np.stack(images)[..., None], np.array(labels, np.int64)
    monkeypatch.setattr(arrays, "keras_labeled_images", lambda name: pairs)
    monkeypatch.setattr(arrays, "keras_images", lambda name: pairs[0])
    return dict(name="mnist"), tuple("0123456789")


def make(source, **options):
    return data.make_dataset(
        **source, batch_size=BATCH, seed=5, image_size=SIZE, **{"labels": True, **options}
    )


def test_each_label_is_its_images_class_and_the_images_are_the_unlabeled_ones(source):
    options, _ = source
    dataset = make(options)
    assert dataset.element_spec[0].shape.as_list() == [BATCH, SIZE, SIZE, 1]
    assert dataset.element_spec[1].shape.as_list() == [BATCH]
    assert dataset.element_spec[1].dtype == tf.int32
    labeled_batches = batches(dataset, 8)  # two epochs
    unlabeled = [b.numpy() for b in make(options, labels=False).take(8)]
    numbers = []
    for (images, labels), plain in zip(labeled_batches, unlabeled, strict=True):
        np.testing.assert_array_equal(images, plain)
        classes, own, _ = read_marks(images)
        assert labels.tolist() == classes == [n % 3 for n in own]
        numbers += own
    assert sorted(numbers[:COUNT]) == sorted(numbers[COUNT:]) == list(range(COUNT))


def test_flips_mirror_the_images_and_keep_the_labels(source):
    options, _ = source
    straight = batches(make(options), 8)
    flipped = batches(make(options, random_flip=True), 8)
    mirrored = []
    for (images, labels), (flipped_images, flipped_labels) in zip(straight, flipped, strict=True):
        np.testing.assert_array_equal(flipped_labels, labels)
        classes, own, mirrors = read_marks(flipped_images)
        assert classes == labels.tolist() and own == read_marks(images)[1]
        for image, flipped_image, mirror in zip(images, flipped_images, mirrors, strict=True):
            np.testing.assert_array_equal(flipped_image, image[:, ::-1] if mirror else image)
        mirrored += mirrors
    assert 0 < sum(mirrored) < len(mirrored)


def test_shards_are_disjoint_parts_with_their_labels(source):
    options, _ = source
    parts = []
    for index in range(2):
        epoch = batches(make(options, shard=(2, index)), 2)  # one epoch of the half
        own = []
        for images, labels in epoch:
            classes, numbers, _ = read_marks(images)
            assert labels.tolist() == classes
            own += numbers
        parts.append(set(own))
    assert len(parts[0]) == len(parts[1]) == COUNT // 2
    assert parts[0] | parts[1] == set(range(COUNT))


def test_a_restored_iterator_goes_on_with_the_same_pairs(source, tmp_path):
    options, _ = source
    iterator = iter(make(options, random_flip=True))
    for _ in range(3):
        next(iterator)
    path = tf.train.Checkpoint(iterator=iterator).write(str(tmp_path / "ckpt" / "it"))
    expected = [next(iterator) for _ in range(2)]
    resumed = iter(make(options, random_flip=True))
    tf.train.Checkpoint(iterator=resumed).read(path).assert_consumed()
    for (images, labels), (want_images, want_labels) in zip(
        [next(resumed) for _ in range(2)], expected, strict=True
    ):
        np.testing.assert_array_equal(images.numpy(), want_images.numpy())
        np.testing.assert_array_equal(labels.numpy(), want_labels.numpy())


def test_class_names_are_the_sources_in_label_order(source):
    options, names = source
    options = {k: v for k, v in options.items() if k != "cache"}
    assert data.class_names(**options) == names


# ---------------------------------------------------------------- glyphs and Keras


def test_glyph_labels_are_the_characters_the_classifier_learnt():
    dataset = data.make_dataset("glyphs", batch_size=64, seed=2, labels=True)
    rendered = data.render_glyphs(image_size=32)
    labels_of = {}
    for index, image in enumerate(rendered):
        labels_of.setdefault(image.tobytes(), set()).add(index % 62)
    for images, labels in batches(dataset, 2):
        pixels = np.round((images + 1) * 127.5).astype(np.uint8)
        for image, label in zip(pixels, labels, strict=True):
            assert label in labels_of[image.tobytes()]
    classifier_set = labeled.labeled_images("glyphs")
    assert data.class_names("glyphs") == classifier_set.class_names
    assert (
        data.class_names("glyphs")[:3] == ("A", "B", "C") and len(classifier_set.class_names) == 62
    )
    np.testing.assert_array_equal(classifier_set.labels, np.arange(len(rendered)) % 62)


def test_keras_class_names_are_published_ones():
    assert data.class_names("mnist") == tuple("0123456789")
    assert data.class_names("fashion_mnist")[0] == "T-shirt/top"
    assert data.class_names("cifar10")[9] == "truck"


# ---------------------------------------------------------------- sources without labels


def refused(name, **source):
    """The refusal of ``make_dataset(labels=True)``, the same line as ``class_names``'s."""
    with pytest.raises(DataError) as made:
        data.make_dataset(name, batch_size=1, seed=0, labels=True, **source)
    with pytest.raises(DataError) as named:
        data.class_names(name, **source)
    assert str(made.value) == str(named.value) and "\n" not in str(made.value)
    return str(made.value)


@pytest.mark.parametrize("name", ["ring2d", "gaussian1d", "npy_vectors"])
def test_a_source_without_labels_is_refused_in_one_line(name):
    assert refused(name) == f"--dataset={name} has no class labels; {ALLOWED}"


@pytest.mark.parametrize(
    "features, label_feature, keys",
    [(("image",), None, "['image']"), (("image", "label"), object(), "['image', 'label']")],
)
def test_a_tfds_set_without_a_class_label_is_refused(monkeypatch, features, label_feature, keys):
    images = [marked(i)[..., None] for i in range(4)]
    fake = fake_tfds(images, features=features, label_feature=label_feature)
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", fake)
    reason = f"its features {keys} hold no ClassLabel 'label'"
    assert refused("tfds:tiny") == f"--dataset=tfds:tiny has no class labels ({reason}); {ALLOWED}"
    data.make_dataset("tfds:tiny", batch_size=2, seed=0)  # unlabeled, it serves


# ---------------------------------------------------------------- folders


def one_line(call):
    with pytest.raises(DataError) as info:
        call()
    assert "\n" not in str(info.value)
    return str(info.value)


@pytest.mark.parametrize(
    "layout, message",
    [
        (
            {"a": 2, "b": 1, "": 2},
            "data_dir '{root}' holds 2 image file(s) outside the class subfolders, e.g. "
            "'loose0.png'; a labeled run needs every image in the subfolder of its class: move "
            "them into one, or remove them",
        ),
        (
            {"a": 2, "b": 0, "c": 1},
            "data_dir '{root}': class subfolder 'b' holds no image files; remove it or add its "
            "images (extensions: .jpg, .jpeg, .png, .bmp, .gif, .webp)",
        ),
        (
            {"only": 3},
            "data_dir '{root}' has 1 subfolder(s); a labeled run needs labeled images: put each "
            "class's images in its own subfolder (at least two)",
        ),
    ],
    ids=["image outside the classes", "empty class", "one class"],
)
def test_a_folder_that_is_not_one_of_classes_is_refused(tmp_path, layout, message):
    root = tmp_path / "set"
    for name, count in layout.items():
        os.makedirs(root / name, exist_ok=True)
        for i in range(count):
            Image.fromarray(marked(i)).save(root / name / f"{'loose' if not name else ''}{i}.png")
    assert refused("folder", data_dir=str(root)) == message.format(root=root)


@pytest.mark.parametrize("cache", ["", "memory"])
def test_a_skipped_file_takes_its_label_with_it(tmp_path, cache):
    root = write_folder(tmp_path / "set")
    (tmp_path / "set" / CLASSES[3 % 3] / "03.png").write_bytes(b"not a png")  # image 3 is bad
    skipped = tf.Variable(0, dtype=tf.int64)
    dataset = data.make_dataset(
        "folder",
        batch_size=BATCH,
        seed=1,
        data_dir=root,
        image_size=SIZE,
        cache=cache,
        skipped_images=skipped,
        labels=True,
    )
    numbers = []
    for images, labels in batches(dataset, 11):  # 3 epochs of the 11 good images
        classes, own, _ = read_marks(images)
        assert labels.tolist() == classes
        numbers += own
    assert sorted(numbers[:11]) == [n for n in range(COUNT) if n != 3]
    assert int(skipped.numpy()) >= 1


def test_a_cache_file_keeps_the_labels_and_serves_only_its_kind_of_run(tmp_path, monkeypatch):
    root = write_folder(tmp_path / "set")
    cache = str(tmp_path / "cache" / "set.npy")

    def run(labels):
        dataset = data.make_dataset(
            "folder",
            batch_size=BATCH,
            seed=1,
            data_dir=root,
            image_size=SIZE,
            cache=cache,
            labels=labels,
        )
        return [np.asarray(b[0] if labels else b) for b in dataset.take(4)]

    first = run(True)
    np.testing.assert_array_equal(
        np.load(cache + ".labels.npy"), read_marks(np.load(cache) / 127.5 - 1)[0]
    )

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again")

    with monkeypatch.context() as patch:
        patch.setattr(folder_cache, "decode_all", no_decoding)
        for again, want in zip(run(True), first, strict=True):  # reused
            np.testing.assert_array_equal(again, want)
        with pytest.raises(AssertionError, match="decoded again"):
            run(False)  # an unlabeled run does not read a labeled cache...
    run(False)
    with monkeypatch.context() as patch:
        patch.setattr(folder_cache, "decode_all", no_decoding)
        run(False)
        with pytest.raises(AssertionError, match="decoded again"):
            run(True)  # ...nor a labeled run an unlabeled one


# ---------------------------------------------------------------- TFRecords


def write_records(path, labels):
    """One record of image 0 per entry of ``labels``: (label, text) or None (no label)."""
    Image.fromarray(marked(0)).save(str(path) + ".png")
    encoded = open(str(path) + ".png", "rb").read()
    with tf.io.TFRecordWriter(str(path)) as writer:
        for i, label in enumerate(labels):
            writer.write(tfrecord._example(encoded, f"{i}.png", label))
    return str(path)


def test_write_shards_writes_each_files_class_and_its_name(stored):
    examples = [
        tf.train.Example.FromString(r.numpy()).features.feature
        for r in tf.data.TFRecordDataset(sorted(tf.io.gfile.glob(str(stored / "shards" / "*"))))
    ]
    listing = data.folder.list_images(str(stored / "folder"))
    by_name = {
        e["image/filename"].bytes_list.value[0].decode(): (
            e["image/class/label"].int64_list.value[0],
            e["image/class/text"].bytes_list.value[0].decode(),
        )
        for e in examples
    }
    want = {}
    for path in listing:
        relative = os.path.relpath(path, stored / "folder")
        label = int(os.path.basename(path)[:2]) % 3
        want[relative] = (label, CLASSES[label])
    assert by_name == want


def test_tfrecord_class_names_without_text_are_numbers_and_gaps_count(tmp_path):
    path = write_records(tmp_path / "r", [(2, ""), (0, ""), (2, "")])
    assert data.class_names("tfrecord", data_pattern=path) == ("0", "1", "2")
    path = write_records(tmp_path / "s", [(1, "dog"), (0, "")])
    assert data.class_names("tfrecord", data_pattern=path) == ("0", "dog")


def test_tfrecord_label_errors_are_one_line(tmp_path):
    path = write_records(tmp_path / "r", [(0, "cat"), (1, "dog"), None, (1, "dog")])
    no_label = (
        "record '{}' holds no class label (one int64 >= 0 under 'image/class/label'); a labeled "
        "run needs one in every record (python -m dcgan.write_tfrecords --labels writes them "
        "from a folder of class subfolders)"
    )
    assert one_line(lambda: data.class_names("tfrecord", data_pattern=path)) == no_label.format(
        f"{path}#2"
    )
    # In training, where the batch holding it is read.
    dataset = data.make_dataset(
        "tfrecord", batch_size=4, seed=0, data_pattern=path, image_size=SIZE, labels=True
    )
    with pytest.raises(DataError) as info, decode.as_data_errors():
        next(iter(dataset))
    assert str(info.value) == no_label.format(f"{path}#2")
    # The first record is read at once.
    first = write_records(tmp_path / "f", [None, (0, "cat")])
    assert one_line(
        lambda: data.make_dataset("tfrecord", batch_size=1, seed=0, data_pattern=first, labels=True)
    ) == no_label.format(f"{first}#0")
    data.make_dataset("tfrecord", batch_size=1, seed=0, data_pattern=first)  # unlabeled: fine
    named_twice = write_records(tmp_path / "t", [(0, "cat"), (0, "kitten")])
    assert one_line(lambda: data.class_names("tfrecord", data_pattern=named_twice)) == (
        f"label 0 has 2 names in the shards matching '{named_twice}': ['cat', 'kitten']; "
        "allowed: one 'image/class/text' per label"
    )


# ---------------------------------------------------------------- npy


@pytest.mark.parametrize(
    "labels, message",
    [
        (None, "data_file '{x}' has no labels: '{labels}' does not exist; allowed: {allowed}"),
        (
            np.zeros(5, np.int64),
            "labels file '{labels}' holds an array of shape (5,) for 4 images in '{x}'; "
            "allowed: {allowed}",
        ),
        (
            np.zeros((4, 1), np.int64),
            "labels file '{labels}' holds an array of shape (4, 1) for 4 images in '{x}'; "
            "allowed: {allowed}",
        ),
        (
            np.zeros(4, np.float32),
            "labels file '{labels}' holds float32 values; allowed: {allowed}",
        ),
        (
            np.array([0, 1, -3, 1]),
            "labels file '{labels}' holds the negative label -3 (image 2); allowed: {allowed}",
        ),
    ],
    ids=["missing", "too many", "2-D", "float", "negative"],
)
def test_npy_label_errors_are_one_line(tmp_path, labels, message):
    x = tmp_path / "x.npy"
    np.save(x, np.stack([marked(i) for i in range(4)]))
    if labels is not None:
        np.save(tmp_path / "x_labels.npy", labels)
    allowed = "an integer array of shape (4,), the class (>= 0) of each image"
    expected = message.format(x=x, labels=tmp_path / "x_labels.npy", allowed=allowed)
    assert refused("npy", data_file=str(x)) == expected


def test_the_labeled_sources_are_named_once():
    assert set(choices.LABELED_DATASETS) < set(choices.DATASETS)
    assert all(choices.has_labels(name) for name in (*choices.LABELED_DATASETS, "tfds:x"))
    assert not any(choices.has_labels(name) for name in (*choices.VECTOR_DATASETS, "npy_vectors"))
    assert re.fullmatch(
        r"--dataset=x has no class labels; allowed: .*", choices.no_labels_text("x")
    )
