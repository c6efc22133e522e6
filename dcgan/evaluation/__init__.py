"""Measuring a generator: metrics of images (``metrics``) and of the toy sets
(``toy_metrics``), feature spaces (``features``), training a domain classifier
(``classifiers``), the evaluator a run calls (``evaluator``), and which metrics a run has
(``choices``, free of TensorFlow)."""
