"""The sampling-kernel seam: what a Markov kernel over a batch of chains provides.

A kernel is a value (blackjax's ``SamplingAlgorithm(init, step)``), passed
as an argument to everything that moves chains -- the training loop
(:mod:`skmaxent.core.training.loop`), :mod:`skmaxent.core.sampling.chains` (``sample``,
``settle``) and annealed importance sampling (:mod:`skmaxent.core.logz.ais`) --
none of which imports a particular kernel. Reflective HMC
(:class:`skmaxent.core.sampling.hmc.ReflectiveHMC`) is one;
:class:`skmaxent.core.training.gaussian_metric.GaussianMove` composes another around
it; a new sampler is one module implementing :class:`Kernel`.

A kernel is hashable (a frozen dataclass: it is a static argument of the
compiled programs, so equal kernels share them) and works on a *batch* of
chains: ``init(positions (C, n), target) -> state`` and ``step(key, state,
target, params) -> (state, info)``. Its state is a pytree with a
``position`` (C, n) field; its info has an ``acceptance_rate`` (C,) field
(what the loop reports and adapts on). ``params`` are its traced tuning
parameters (a step size), which ``adapt`` moves towards a target
acceptance during training.
"""

from typing import Any, NamedTuple, Protocol

from skmaxent.core.types import Array, PRNGKey

__all__ = ["Target", "Kernel"]


class Target(NamedTuple):
    """The density a kernel leaves invariant: ``exp(-E(u))`` on the support.

    energy_and_grad : per-point ``u -> (E(u), dE/du)`` on the unit box
        coordinates.
    walls : the support's walls (:func:`skmaxent.core.sampling.hmc.reflect`), None
        for the box.
    theta, geo : the energy's parameters and
        :class:`~skmaxent.core.energy.Geometry`, for kernels that read the
        model's structure (:class:`~skmaxent.core.training.gaussian_metric.
        GaussianMove`); None where the target is not a fitted energy (AIS's
        tempered ones).
    """

    energy_and_grad: Any
    walls: Any = None
    theta: Any = None
    geo: Any = None


class Kernel(Protocol):
    """A Markov kernel over a batch of chains (see the module docstring)."""

    def init(self, positions: Array, target: Target) -> Any:
        """The state of chains at ``positions`` (C, n) for ``target``."""

    def step(
        self, key: PRNGKey, state: Any, target: Target, params: Any
    ) -> tuple[Any, Any]:
        """One transition of every chain, leaving ``target`` invariant:
        ``(state, info)``, ``info.acceptance_rate`` (C,)."""

    def adapt(self, params: Any, info: Any, target_accept, gain) -> Any:
        """``params`` moved towards ``target_accept`` after a step's ``info``."""
