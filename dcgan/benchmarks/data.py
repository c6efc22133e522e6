r"""Input-pipeline throughput: ``python -m dcgan.benchmarks.data [--output=bench_data.json]``.

Generates folders of JPEGs in a temporary directory (64x64 images, and 218x178 images,
CelebA's size, read with its usual recipe: center crop 108, resize to 64), then times
``dcgan.data.make_dataset`` batches after a warm-up and reports images per second.
Training must never wait for data: the goal is at least 3x the images/s the DCGAN-64
train step consumes (``python -m dcgan.benchmarks.perf`` compares the two).

Each folder is also read with tf.data's autotuning switched back on: ``make_dataset``
turns it off (see ``dcgan.data.pipeline``), and the ratio of the two rates shows what
that costs or gains on this machine's cores.
"""

from __future__ import annotations

import json
import os
import tempfile
import time

import numpy as np
from absl import app, flags

from dcgan import cli

_PROGRAM = "dcgan.benchmarks.data"

FLAGS = flags.FLAGS

# name: (height, width, make_dataset options)
FOLDERS = {
    "jpeg_64x64": (64, 64, {}),
    "jpeg_218x178_celeba_crop108": (218, 178, {"crop": "center", "crop_size": 108}),
}


def write_jpegs(directory: str, *, count: int, height: int, width: int, seed: int = 0) -> None:
    """Writes ``count`` photo-like JPEGs (smooth color fields plus grain), 100 a folder."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for i in range(count):
        # Upsampled coarse noise compresses like a photo; pure noise would make every
        # file several times larger and slower to decode than real pictures.
        coarse = rng.integers(0, 256, (height // 16 + 1, width // 16 + 1, 3), np.uint8)
        image = Image.fromarray(coarse).resize((width, height), Image.BILINEAR)
        grain = rng.integers(-8, 9, (height, width, 3))
        pixels = np.clip(np.asarray(image, np.int16) + grain, 0, 255).astype(np.uint8)
        sub = os.path.join(directory, f"{i // 100:03d}")
        os.makedirs(sub, exist_ok=True)
        Image.fromarray(pixels).save(os.path.join(sub, f"{i:06d}.jpg"), quality=90)


def folder_dataset(data_dir: str, *, batch_size: int, autotune: bool = False, **options):
    """``make_dataset``'s 64x64 RGB batches of a folder; with tf.data's autotuning
    switched back on if ``autotune``."""
    import tensorflow as tf

    from dcgan import data

    dataset = data.make_dataset(
        "folder",
        batch_size=batch_size,
        seed=0,
        image_size=64,
        channels=3,
        data_dir=data_dir,
        **options,
    )
    if autotune:
        # The last options set win over make_dataset's.
        enabled = tf.data.Options()
        enabled.autotune.enabled = True
        dataset = dataset.with_options(enabled)
    return dataset


def measure(
    data_dir: str,
    *,
    batch_size: int,
    warmup_batches: int,
    batches: int,
    windows: int = 1,
    autotune: bool = False,
    **options,
) -> dict[str, object]:
    """Times 64x64 RGB batches from a folder: the median images/s of ``windows`` windows
    of ``batches`` batches after ``warmup_batches``, and the listing time; with tf.data's
    autotuning on if ``autotune``."""
    from dcgan.benchmarks import timing

    start = time.perf_counter()
    dataset = folder_dataset(data_dir, batch_size=batch_size, autotune=autotune, **options)
    setup_s = time.perf_counter() - start
    iterator = iter(dataset)
    times = timing.window_times(
        lambda: next(iterator), windows=windows, calls=batches, warmup=warmup_batches
    )
    return {
        "images_per_sec": batch_size / timing.median(times),
        "window_images_per_sec": [batch_size / t for t in times],
        "setup_sec": setup_s,
        "timed_images": windows * batches * batch_size,
    }


def _define_flags() -> None:
    # Defined only when run as a program: importing this module (the tests do) must not
    # claim names that other entry points define too, such as dcgan.train's --batch_size
    # and dcgan.sample's --output.
    flags.DEFINE_integer("num_files", 2000, "JPEG files generated per folder.")
    flags.DEFINE_integer("batch_size", 64, "Images per batch.")
    flags.DEFINE_integer("warmup_batches", 10, "Batches read before timing starts.")
    flags.DEFINE_integer("batches", 60, "Batches timed.")
    flags.DEFINE_string("output", None, "Also write the results to this JSON file.")


def main(argv: list[str]) -> None:
    cli.check_no_arguments(_PROGRAM, argv)
    for name in ("num_files", "batch_size", "batches"):
        if FLAGS[name].value < 1:
            cli.fail(
                _PROGRAM, f"--{name}={FLAGS[name].value} is invalid; allowed: >= 1", cli.USAGE_ERROR
            )
    if FLAGS.num_files < FLAGS.batch_size:
        cli.fail(
            _PROGRAM,
            f"--num_files={FLAGS.num_files} is invalid; allowed: at least "
            f"--batch_size={FLAGS.batch_size}",
            cli.USAGE_ERROR,
        )
    cli.quiet_tensorflow()
    results = {"cpu_count": os.cpu_count(), "batch_size": FLAGS.batch_size, "folders": {}}
    with tempfile.TemporaryDirectory(prefix="dcgan_bench_data_") as root:
        for name, (height, width, options) in FOLDERS.items():
            directory = os.path.join(root, name)
            write_jpegs(directory, count=FLAGS.num_files, height=height, width=width)
            result, autotuned = (
                measure(
                    directory,
                    batch_size=FLAGS.batch_size,
                    warmup_batches=FLAGS.warmup_batches,
                    batches=FLAGS.batches,
                    autotune=autotune,
                    **options,
                )
                for autotune in (False, True)
            )
            rate, autotuned_rate = result["images_per_sec"], autotuned["images_per_sec"]
            results["folders"][name] = {
                "files": FLAGS.num_files,
                **options,
                **result,
                "autotuned_images_per_sec": autotuned_rate,
            }
            print(
                f"{name}: {rate:.0f} images/s "
                f"({FLAGS.num_files} files, batch {FLAGS.batch_size}, 64x64x3 out, "
                f"set-up {result['setup_sec']:.2f} s); with tf.data's autotuning "
                f"{autotuned_rate:.0f} images/s ({rate / autotuned_rate:.2f}x without)",
                flush=True,
            )
    if FLAGS.output:
        with open(FLAGS.output, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    _define_flags()
    app.run(main, flags_parser=cli.flags_parser(_PROGRAM))
