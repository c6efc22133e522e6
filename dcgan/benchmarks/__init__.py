"""The benchmarks: programs that measure the project, not parts of a training run.

Each runs as ``python -m dcgan.benchmarks.NAME`` and takes ``--output``, a JSON file for
its figures:

- :mod:`dcgan.benchmarks.step`: the compiled training step's throughput on fixed scenarios;
- :mod:`dcgan.benchmarks.data`: the input pipeline's throughput on generated JPEG folders;
- :mod:`dcgan.benchmarks.soak`: a long toy run watched for memory growth and retracing;
- :mod:`dcgan.benchmarks.toys`: the toy flagfiles (and their variants with other
  objectives) over several seeds against their quality targets;
- :mod:`dcgan.benchmarks.glyphs`: objectives and stabilizers on the glyphs and a
  500-glyph subset, measured with FID and KID in a glyph classifier's features.

``make bench`` runs the first three; ``make bench-toys`` and ``make bench-objectives``
the others (hours on a CPU).
"""
