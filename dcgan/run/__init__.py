"""A training run around the compiled step.

- ``builder``: the one place a ``Config`` becomes objects (networks, trainer, data,
  evaluator);
- ``prepare``: checks a run against its workdir, builds it and restores it;
- ``loop``: the eager loop (step, log, summaries, samples, evaluations, checkpoints),
  with ``log``, ``history`` (``log.txt``, ``metrics.jsonl``), ``profile`` and ``signals``;
- ``workdir``: the run's files and checkpoints; ``snapshots``: sample grids and plots;
  ``summaries``: TensorBoard's layout; ``pretrained``: a trained G for the commands
  that only generate.
"""
