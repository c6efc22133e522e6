"""The step layer's names and rules, free of TensorFlow: schedules, optimizers, bounds.

``dcgan.config`` declares its step fields with these and ``dcgan.step.trainer`` checks
its arguments with them, so each rule is written once. Loads no TensorFlow.
"""

from __future__ import annotations

from dcgan import options

# Which network updates first in a step.
TRAIN_ORDERS = ("d_first", "g_first")
# How a step's two updates share their forward passes: the keys of
# ``dcgan.step.schedules.SCHEDULES``.
UPDATES = ("alternating", "reuse_fakes", "simultaneous")
# What a NaN or infinite loss or gradient does: stop the run, or skip the update.
NONFINITE_ACTIONS = ("stop", "skip")
OPTIMIZERS = ("adam", "rmsprop")
N_CRITIC = options.Integer(1)
PACK = options.Integer(1)
G_EMA_DECAY = options.Number(0.0, 1.0, open_high=True)
LR_DECAY_STEPS = options.Integer(0)


def check_schedule(*, updates: str, n_critic: int, train_order: str) -> None:
    """Refuses an update schedule that cannot run with these D updates and this order.

    ``reuse_fakes`` and ``simultaneous`` share one fake batch between one D update and
    the G update that follows it, so they need one D update per step, and D's first.

    Raises:
        options.OptionError: naming the values and what is allowed.
    """
    options.Choice(UPDATES).check("updates", updates)
    options.Choice(TRAIN_ORDERS).check("train_order", train_order)
    N_CRITIC.check("n_critic", n_critic)
    if updates == "alternating" or (n_critic == 1 and train_order == "d_first"):
        return
    bad = "n_critic" if n_critic != 1 else "train_order"
    raise options.OptionError(
        f"{{updates}} shares one fake batch between one D and one G update, so it cannot "
        f"be used with {{{bad}}}; allowed: {{n_critic=1}} {{train_order=d_first}}, or "
        "{updates=alternating}",
        updates=updates,
        n_critic=n_critic,
        train_order=train_order,
    )
