"""Where the step runs: the ``tf.distribute`` strategy and cluster (``devices``), a
replica's share of a global batch and its random draws (``replicas``), and the
strategies' names (``choices``)."""
