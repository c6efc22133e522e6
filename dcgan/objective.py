"""The objective's public path: ``from dcgan import objective`` is ``dcgan.gan.objective``.

The module lives with the rest of the GAN's parts; this name stays the one users import.
"""

import sys

from dcgan.gan import objective

sys.modules[__name__] = objective
