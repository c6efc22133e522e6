"""The feature space of an image run: a domain classifier, or one of the InceptionV3s.

A **domain classifier** (``dcgan.evaluation.classifiers`` trains one) is a small CNN
trained on a labeled set of the domain a GAN learns. Its penultimate layer is a feature
space that needs no download, and its last layer's logits give the class of a generated
sample, so a run can count the classes it covers. One for the built-in glyphs ships with
the package (``SHIPPED_CLASSIFIERS``). ``--eval_classifier`` may instead name one of the
InceptionV3 networks of ``dcgan.evaluation.inception`` (``INCEPTION_NETWORKS``).
"""

from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf

from dcgan.evaluation import inception
from dcgan.evaluation.choices import INCEPTION_NETWORKS, SHIPPED_CLASSIFIER_DATASETS
from dcgan.evaluation.extractor import EvaluationError, Extractor, fit_input
from dcgan.io import storage

# dcgan/assets, beside the subpackages: declared as package data in setup.cfg.
_ASSETS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "assets")
# The networks INCEPTION_NETWORKS names, in its order.
_INCEPTIONS = dict(
    zip(INCEPTION_NETWORKS, (inception.keras_extractor, inception.ttur_extractor), strict=True)
)
#: Classifiers that ship with the package, by dataset: the default feature space of an
#: image run on that dataset (``--eval_classifier=''``).
SHIPPED_CLASSIFIERS = {
    dataset: os.path.join(_ASSETS, f"{dataset}_classifier.keras")
    for dataset in SHIPPED_CLASSIFIER_DATASETS
}


def classifier_extractor(path: str, *, layer: str | None = None) -> Extractor:
    """A saved Keras classifier's activations at ``layer`` (default: its penultimate).

    Images are resized to the classifier's input size and turned gray or RGB to match
    its channels, so a classifier of 32 px glyphs measures a 64 px glyph run too. The
    classes are the argmax of the model's output: its last layer is taken to be logits
    (or probabilities) over classes.

    Raises:
        EvaluationError: if the file cannot be loaded or has no such layer.
    """
    if not tf.io.gfile.exists(path):
        raise EvaluationError(
            f"no classifier at {path}: train one with python -m dcgan.classifier "
            f"--dataset=... --output={path}"
        )
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as e:  # a file of another kind fails anywhere in Keras's reader
        raise EvaluationError(
            f"cannot load a Keras model from {path} ({type(e).__name__}: "
            f"{storage.reason(e, limit=120)}); allowed: a .keras file that "
            "python -m dcgan.classifier or keras.Model.save wrote"
        ) from None
    names = [candidate.name for candidate in model.layers]
    if len(names) < 2 and not layer:
        raise EvaluationError(f"{path} has one layer, {names}: it has no penultimate layer")
    chosen = layer or names[-2]
    if chosen not in names:
        raise EvaluationError(f"{path} has no layer {chosen!r}; its layers: {', '.join(names)}")
    outputs = model.outputs[0]
    if len(model.outputs) != 1 or len(outputs.shape) != 2:
        raise EvaluationError(
            f"{path} is not a classifier: its output must be one [batch, classes] tensor, "
            f"got {[tuple(o.shape) for o in model.outputs]}"
        )
    both = keras.Model(model.inputs, [model.get_layer(chosen).output, outputs])
    input_shape = tuple(model.inputs[0].shape[1:])

    def extract(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        features, logits = both(fit_input(images, input_shape), training=False)
        return np.reshape(features.numpy(), [len(images), -1]), logits.numpy()

    return Extractor(
        extract, f"{os.path.basename(path)} layer {chosen}", num_classes=int(outputs.shape[-1])
    )


def default_classifier(dataset: str) -> str | None:
    """The classifier that ships for ``dataset``, or None (then InceptionV3 is the default)."""
    return SHIPPED_CLASSIFIERS.get(dataset)


def make_extractor(*, classifier: str, layer: str, dataset: str) -> Extractor:
    """The feature space of an image run.

    Args:
        classifier: a saved Keras classifier's path, a name of ``INCEPTION_NETWORKS``, or
            "": the classifier shipped for ``dataset``, else Keras's InceptionV3.
        layer: the classifier's layer; "": its penultimate.
        dataset: the run's dataset.

    Raises:
        EvaluationError: if the classifier or the Inception network cannot be loaded.
    """
    path = classifier or default_classifier(dataset) or INCEPTION_NETWORKS[0]
    if path in INCEPTION_NETWORKS:
        return _INCEPTIONS[path]()
    return classifier_extractor(path, layer=layer or None)
