"""Energies for :class:`~skmaxent.MomentMatchingEBM`: ``Linear``, ``MLP``, your own.

An energy is any object with

- ``init(key, n_features_in) -> params``: starting parameters, a pytree of
  floating-point arrays (a dict, tuple or NamedTuple of arrays);
- ``__call__(params, x) -> scalar``: the energy ``E(x)`` at ONE point ``x`` of
  shape ``(n_features_in,)`` in user units, differentiable in ``params`` and
  ``x`` with JAX.

The density is ``p(x) = exp(-E(x)) / Z`` on the box. Make the object hashable
and comparable by value (a frozen dataclass): it is a static argument of the
compiled training loop, so equal energies share compiled code, also across
``clone``.

``Linear`` (``energy_model="linear"``) is ``E = -coef·f(x)`` on the
estimator's features, the model family of ``MaxEntDual``; it is evaluated in
closed form and is not an object of the protocol. ``MLP`` is a small neural
energy written as plain JAX arrays.
"""

from dataclasses import dataclass
from numbers import Integral

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["Linear", "MLP", "check_energy"]

_ACTIVATIONS = {
    "tanh": jnp.tanh,
    "softplus": jax.nn.softplus,
    "silu": jax.nn.silu,
}


@dataclass(frozen=True)
class Linear:
    """``E(x) = -coef · f(x)``: linear in its parameters, the features' natural family.

    ``energy_model=Linear()`` is the same as ``energy_model="linear"``. The
    parameters are ``coef_`` (one per feature); the moment-matching gradient
    is ``Cov[f, f] (E[f] - mu)`` with no automatic differentiation.
    """


@dataclass(frozen=True)
class MLP:
    """A multilayer-perceptron energy ``E(x) = w · h_L(...h_1(u))``.

    The network sees the point mapped to ``[-1, 1]^n`` through the box,
    ``u = 2 (x - lo) / (hi - lo) - 1``, so one initialisation suits any units.
    The last layer has no bias (a constant does not change the density) and
    starts at zero, so the fit starts at the uniform distribution.

    Parameters
    ----------
    hidden : tuple of int, default=(32, 32)
        Widths of the hidden layers.
    activation : {"tanh", "softplus", "silu"}, default="tanh"
        Smooth activations only: HMC follows the energy's gradient.
    bounds : tuple of (lo, hi) pairs or None, default=None
        The box used by ``__call__`` to map user units to ``[-1, 1]``. Leave
        it ``None`` as a hyper-parameter: the fitted estimator's
        ``energy_model_`` carries the fitted box.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from skmaxent.energies import MLP
    >>> energy = MLP(hidden=(8,), bounds=((0.0, 1.0), (0.0, 2.0)))
    >>> params = energy.init(jax.random.key(0), 2)
    >>> float(energy(params, jnp.array([0.5, 1.0])))
    0.0
    """

    hidden: tuple = (32, 32)
    activation: str = "tanh"
    bounds: tuple | None = None

    def __post_init__(self):
        hidden = self.hidden
        if isinstance(hidden, Integral) and not isinstance(hidden, bool):
            hidden = (hidden,)
        if not isinstance(hidden, tuple | list) or not all(
            isinstance(h, Integral) and not isinstance(h, bool) and h >= 1
            for h in hidden
        ):
            raise ValueError(
                f"MLP.hidden must be a tuple of positive integers; got {self.hidden!r}."
            )
        object.__setattr__(self, "hidden", tuple(int(h) for h in hidden))
        if self.activation not in _ACTIVATIONS:
            raise ValueError(
                f"MLP.activation must be one of {sorted(_ACTIVATIONS)}; got "
                f"{self.activation!r}."
            )
        if self.bounds is not None:
            b = np.asarray(self.bounds, dtype=np.float64)
            if b.ndim != 2 or b.shape[1] != 2 or not np.all(b[:, 0] < b[:, 1]):
                raise ValueError(
                    "MLP.bounds must be (lo, hi) pairs with lo < hi; got "
                    f"{self.bounds!r}."
                )
            object.__setattr__(self, "bounds", tuple(map(tuple, b.tolist())))

    def init(self, key, n_features_in):
        """Draw starting parameters: LeCun-normal weights, the last layer zero.

        Parameters
        ----------
        key : jax.Array
            PRNG key.
        n_features_in : int
            Number of variables.

        Returns
        -------
        params : tuple
            ``(layers, w)``, ``layers`` a tuple of ``(W, b)`` pairs.
        """
        sizes = (int(n_features_in), *self.hidden)
        keys = jax.random.split(key, len(self.hidden))
        layers = tuple(
            (
                jax.random.normal(k, (m, n)) / jnp.sqrt(m),
                jnp.zeros((n,)),
            )
            for k, m, n in zip(keys, sizes[:-1], sizes[1:])
        )
        return layers, jnp.zeros((sizes[-1],))

    def on_unit_box(self, params, u):
        """Evaluate the energy at one point ``u`` of the unit box ``[0, 1]^n``.

        Parameters
        ----------
        params : tuple
            Parameters from :meth:`init`.
        u : jax.Array of shape (n_features_in,)
            The point, on the unit box.

        Returns
        -------
        energy : jax.Array of shape ()
            ``E`` at ``u``.
        """
        layers, w = params
        act = _ACTIVATIONS[self.activation]
        h = 2.0 * u - 1.0
        for W, b in layers:
            h = act(h @ W + b)
        return h @ w

    def __call__(self, params, x):
        """The energy at one point ``x`` (n,) in user units (needs ``bounds``)."""
        if self.bounds is None:
            raise ValueError(
                "MLP(bounds=None) cannot map user units to its input range; use "
                "the fitted estimator's energy_model_ (or pass bounds)."
            )
        b = jnp.asarray(self.bounds, dtype=jnp.asarray(x).dtype)
        return self.on_unit_box(params, (x - b[:, 0]) / (b[:, 1] - b[:, 0]))


def _initial_params(energy, key, n_features_in, name):
    """``energy.init(key, n_features_in)``, checked: a pytree of finite
    floating-point arrays (``name`` introduces the messages)."""
    try:
        params = energy.init(key, n_features_in)
    except Exception as exc:
        raise TypeError(f"{name}: init(key, {n_features_in}) raised {exc!r}.") from exc
    leaves = jax.tree.leaves(params)
    if not leaves:
        raise TypeError(f"{name}: init returned no arrays ({params!r}).")
    for leaf in leaves:
        if not (hasattr(leaf, "dtype") and jnp.issubdtype(leaf.dtype, jnp.floating)):
            raise TypeError(
                f"{name}: init must return a pytree of floating-point arrays; got "
                f"a leaf {leaf!r}."
            )
        if not np.all(np.isfinite(np.asarray(leaf))):
            raise ValueError(f"{name}: init returned non-finite parameters.")
    return params


def check_energy(energy, key, n_features_in, bounds):
    """Validate an energy once, eagerly, and return its initial parameters.

    Checks that ``init`` returns a pytree of finite floating-point arrays, and
    that the energy at a few points of the box (centre and corners) is a
    finite scalar with finite gradients in ``params`` and ``x``.

    Parameters
    ----------
    energy : object
        An energy with ``init(key, n_features_in)`` and ``__call__(params, x)``.
    key : jax.Array
        PRNG key for ``init``.
    n_features_in : int
        Number of variables.
    bounds : ndarray of shape (n_features_in, 2)
        The box; the energy is evaluated at its centre and corners.

    Returns
    -------
    params : pytree
        The initial parameters, ``energy.init(key, n_features_in)``.

    Raises
    ------
    TypeError
        When the object lacks ``init`` / ``__call__``, is not hashable, or
        returns something that is not a scalar pytree, or JAX cannot trace or
        differentiate it.
    ValueError
        When a value or gradient is not finite.
    """
    name = f"energy_model={energy!r}"
    if not (callable(energy) and callable(getattr(energy, "init", None))):
        raise TypeError(
            f"{name} must be 'linear', skmaxent.energies.MLP(...) or an object with "
            "init(key, n_features_in) -> params and __call__(params, x) -> scalar."
        )
    try:
        hash(energy)
    except TypeError as exc:
        raise TypeError(
            f"{name} is not hashable; make it a frozen dataclass (it is a static "
            "argument of the compiled training loop)."
        ) from exc
    params = _initial_params(energy, key, n_features_in, name)
    low, high = (np.asarray(b, np.float32) for b in (bounds[:, 0], bounds[:, 1]))
    corners = np.stack([low, high, (low + high) / 2, low + 0.3 * (high - low)])
    value_and_grads = jax.value_and_grad(
        lambda p, x: jnp.asarray(energy(p, x)), argnums=(0, 1)
    )
    for x in corners:
        try:
            e = energy(params, jnp.asarray(x))
            shape = jnp.shape(e)
            if shape != ():
                raise TypeError(
                    f"{name}: __call__(params, x) must return a scalar for one "
                    f"point x of shape ({n_features_in},); got shape {shape}."
                )
            e, (gp, gx) = value_and_grads(params, jnp.asarray(x))
        except TypeError as exc:
            if str(exc).startswith(name):
                raise
            raise TypeError(
                f"{name}: JAX cannot evaluate or differentiate it at x = "
                f"{x.tolist()}: {exc}"
            ) from exc
        except Exception as exc:
            raise TypeError(
                f"{name}: evaluating it at x = {x.tolist()} raised {exc!r}."
            ) from exc
        grads = [np.asarray(g) for g in (*jax.tree.leaves(gp), gx)]
        if not (np.isfinite(float(e)) and all(np.all(np.isfinite(g)) for g in grads)):
            raise ValueError(
                f"{name}: the energy or its gradient is not finite at x = "
                f"{x.tolist()} (E = {float(e)!r})."
            )
    return params
