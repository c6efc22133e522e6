"""The benchmarks: programs that measure the project, not parts of a training run.

Each runs as ``python -m dcgan.benchmarks.NAME`` and takes ``--output``, a JSON file for
its figures:

- :mod:`dcgan.benchmarks.perf`: the performance report of issue 16 in one process: the
  trainer's DCGAN-64 step in every mode and precision next to a Keras ``train_on_batch``
  loop and a plain ``tf.function`` step, WGAN critic and generator updates, the small
  nets, the FLOP rate against the matmul rate, the first step, input throughput, and
  every target with PASS or MISS;
- :mod:`dcgan.benchmarks.data`: the input pipeline's throughput on generated JPEG folders;
- :mod:`dcgan.benchmarks.soak`: a long toy run watched for memory growth and retracing;
- :mod:`dcgan.benchmarks.toys`: the toy flagfiles (and their variants with other
  objectives) over several seeds against their quality targets;
- :mod:`dcgan.benchmarks.glyphs`: objectives and stabilizers on the glyphs and a
  500-glyph subset, measured in the shipped glyph classifier's features;
- :mod:`dcgan.benchmarks.curves`: the glyph flagfiles' quality by step (FID, precision,
  recall, coverage, classes covered) against the real-vs-real floor.

``perf`` is built from :mod:`~dcgan.benchmarks.cases` (what it times),
:mod:`~dcgan.benchmarks.report` (its targets and table),
:mod:`~dcgan.benchmarks.baselines` (the reference steps),
:mod:`~dcgan.benchmarks.hardware` (FLOP counts, matmul rates, CPU flags) and
:mod:`~dcgan.benchmarks.timing` (windows, medians, tables).

``make bench`` runs ``perf``, ``make bench-soak`` the soak, ``make bench-curves`` the
curves; ``make bench-toys`` and ``make bench-objectives`` the others (hours on a CPU).
"""
