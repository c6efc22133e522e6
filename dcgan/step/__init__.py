"""The compiled step and the state it updates.

- ``trainer``: ``Trainer``, the run's state with its compiled multi-step loop;
- ``state``: the variables a checkpoint holds;
- ``gradients``: each replica's forward passes, losses, penalties and gradients;
- ``apply``: applying summed gradients (skip and roll back, clipping, the loss scale);
- ``updates``: one D or G update under the strategy; ``schedules``: their order by name;
- ``choices``: the names and rules of the step's options, free of TensorFlow.
"""
