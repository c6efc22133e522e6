"""The GAN's parts: networks, noise, augmentation, losses, penalties and the objective.

- ``models`` and ``resnet`` (with ``blocks``, ``spectral`` and ``attention``): the DCGAN
  nets, SNGAN's ResNets and MLPs, D returning logits;
- ``noise``: the distribution of z; ``augment``: DiffAugment; ``latent``: paths in z;
- ``losses``, ``penalties``, ``outputs``: pure tensor functions, per example
  (``from dcgan import losses`` is ``losses`` here);
- ``objective``: a loss family with its options and penalties, selected by name;
- ``choices``: the names and bounds of these options, free of TensorFlow.
"""
