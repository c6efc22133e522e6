"""dcgan: train DCGAN, WGAN and WGAN-GP with a pure TensorFlow 2 training loop.

Importing the package imports nothing heavy; use the modules directly, for example
``from dcgan import losses``.
"""

__version__ = "0.1.0"
