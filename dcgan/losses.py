"""The loss module's public path: ``from dcgan import losses`` is ``dcgan.gan.losses``.

The module lives with the rest of the GAN's parts; this name stays the one users import.
"""

import sys

from dcgan.gan import losses

sys.modules[__name__] = losses
