r"""The progress of a run as one animated GIF: S5's way of watching its GAN train.

    python -m dcgan.gif --workdir=W [--output=W/progress.gif]

Assembles the fixed-noise grids W/samples/step_<step>.png in step order, each under a
caption with its step. The noise is the same in every grid, so each cell of the
animation follows one latent vector through training (for vector runs, the frames are
the real-vs-generated plots).
"""

from __future__ import annotations

import os
import re

from absl import app, flags

from dcgan import cli

_PROGRAM = "dcgan.gif"
_SAMPLE = re.compile(r"step_(\d+)\.png")

flags.DEFINE_string("workdir", None, "Workdir of a dcgan.train run.")
flags.DEFINE_string("output", None, "GIF to write; default <workdir>/progress.gif.")
flags.DEFINE_integer("frame_ms", 200, "Milliseconds per frame.", lower_bound=1)
flags.DEFINE_integer("hold_last", 5, "Extra frames that show the last grid.", lower_bound=0)
FLAGS = flags.FLAGS


def sample_paths(samples_dir: str) -> list[tuple[int, str]]:
    """The step_<step>.png files of ``samples_dir`` with their steps, in step order (not
    name order)."""
    import tensorflow as tf  # its file system layer lists gs://… as well

    steps = [
        (int(m.group(1)), name)
        for name in tf.io.gfile.listdir(samples_dir)
        if (m := _SAMPLE.fullmatch(name))
    ]
    return [(step, os.path.join(samples_dir, name)) for step, name in sorted(steps)]


def main(argv: list[str]) -> None:
    cli.check_no_arguments(_PROGRAM, argv)
    cli.require_workdir(_PROGRAM, FLAGS.workdir)
    output = FLAGS.output or os.path.join(FLAGS.workdir, "progress.gif")
    cli.check_output_file(_PROGRAM, output, (".gif",))
    cli.quiet_tensorflow()
    import imageio.v3 as iio
    import tensorflow as tf

    from dcgan.io import images, storage

    samples_dir = os.path.join(FLAGS.workdir, "samples")
    paths = sample_paths(samples_dir) if tf.io.gfile.isdir(samples_dir) else []
    if not paths:
        cli.fail(_PROGRAM, f"no step_<step>.png sample grids in {samples_dir}", cli.INPUT_ERROR)
    # A frame says when it was drawn: a GIF keeps no file names.
    frames = [
        images.caption(iio.imread(storage.read_bytes(path)), f"step {step}") for step, path in paths
    ]
    try:
        images.write_gif(output, frames + frames[-1:] * FLAGS.hold_last, duration_ms=FLAGS.frame_ms)
    except ValueError as e:
        cli.fail(_PROGRAM, f"{samples_dir}: {e}", cli.INPUT_ERROR)
    print(f"wrote {len(frames)} grids from {samples_dir} to {output}", flush=True)


if __name__ == "__main__":
    app.run(main, flags_parser=cli.flags_parser(_PROGRAM))
