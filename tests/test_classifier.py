"""``python -m dcgan.classifier``: a domain classifier trained, saved and recorded."""

import json

import keras
import numpy as np
import pytest
from runner import CHILD_TIMEOUT, Commands, program_stderr


def write_pngs(root, name, bright_columns, count):
    """``count`` PNGs whose ink fills ``bright_columns``: a class told apart by shape."""
    import imageio.v3 as iio

    folder = root / name
    folder.mkdir(parents=True)
    rng = np.random.default_rng(len(name))
    for i in range(count):
        image = rng.integers(0, 30, (10, 10, 3))
        image[:, bright_columns] = rng.integers(180, 256)
        iio.imwrite(folder / f"{i}.png", image.astype(np.uint8))


BAD_INPUT = [
    ([], 2, "--output is required"),
    (["--output={tmp}/c.h5"], 2, "allowed: a path ending in .keras"),
    (["--output={tmp}/c.keras", "--held_out=1.5"], 2, "--held_out=1.5 is invalid"),
    (["--output={tmp}/c.keras", "--dataset=folder"], 2, "--dataset=folder needs --data_dir"),
    (
        ["--output={tmp}/c.keras", "--dataset=folder", "--data_dir={tmp}", "--image_size=8"],
        1,
        "a classifier needs labeled images: put each class's images in its own subfolder",
    ),
    (["--output={tmp}/c.keras", "--dataset=ring2d"], 1, "'ring2d' has no labels"),
]


@pytest.fixture(scope="module", autouse=True)
def commands(tmp_path_factory):
    """The training command and each case of ``BAD_INPUT``, in one process
    (``runner.run_batch``) started before the first test."""
    commands = Commands(tmp_path_factory)
    tmp = commands.mkdir("trained")
    for name, columns in (("left", slice(0, 5)), ("right", slice(5, 10))):
        write_pngs(tmp / "set", name, columns, 20)
    args = [
        "--dataset=folder",
        f"--data_dir={tmp / 'set'}",
        "--image_size=8",
        "--channels=1",
        "--epochs=15",
        "--batch_size=8",
        "--held_out=0.25",
        f"--output={tmp / 'c.keras'}",
    ]
    commands.command("trained", "dcgan.classifier", *args, timeout=CHILD_TIMEOUT)
    for index, (args, _, _) in enumerate(BAD_INPUT):
        tmp = commands.mkdir(f"bad{index}")
        args = [a.format(tmp=tmp) for a in args]
        commands.command(f"bad{index}", "dcgan.classifier", *args)
    commands.start()
    yield commands
    commands.close()


def test_a_folder_of_classes_trains_a_classifier(commands):
    tmp_path, result = commands.folder("trained"), commands.result("trained")
    output = tmp_path / "c.keras"
    assert result.returncode == 0, result.stderr
    assert "folder: 40 images 8x8x1, 2 classes" in result.stdout
    record = json.loads((tmp_path / "c.json").read_text())
    assert record["class_names"] == ["left", "right"]
    assert (record["image_size"], record["channels"], record["num_held_out"]) == (8, 1, 10)
    assert record["held_out_accuracy"] == 1.0  # where the ink is tells the classes apart
    assert record["augmented"] is True
    assert f"held-out accuracy 100.00 % on 10 images; wrote {output}" in result.stdout
    model = keras.models.load_model(output, compile=False)
    assert model.input_shape == (None, 8, 8, 1) and model.output_shape == (None, 2)


@pytest.mark.parametrize("index", range(len(BAD_INPUT)), ids=[message for *_, message in BAD_INPUT])
def test_bad_input_is_one_line(commands, index):
    _, status, message = BAD_INPUT[index]
    tmp_path, result = commands.folder(f"bad{index}"), commands.result(f"bad{index}")
    assert result.returncode == status, result.stderr
    last = program_stderr(result)[-1]
    assert last.startswith("dcgan.classifier: error: ") and message in last
    assert not (tmp_path / "c.keras").exists()
