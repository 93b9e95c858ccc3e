"""What a fitted chain model answers: sample, score_samples, energy, transform.

:class:`_ChainModel` also holds what fitting and answering share: the
sampling kernel, the chains in unit coordinates, and the settings of one
call (:func:`skmaxent.config_context`, carried by clones).
"""

import math
import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from skmaxent._fit.interrupts import finishing
from skmaxent._fit.random import key_from_random_state
from skmaxent._fit.settings import Settings, clone_snapshot, resolve
from skmaxent._inputs.arrays import f32 as _f32
from skmaxent._inputs.data import feature_values, row_blocks, validate_X
from skmaxent._inputs.support import box_geometry, clip_unit
from skmaxent.core.energy import to_unit, to_user
from skmaxent.core.sampling import chains
from skmaxent.core.sampling.hmc import HMCParams, ReflectiveHMC

__all__ = ["_ChainModel"]


class _ChainModel(DensityMixin, TransformerMixin, BaseEstimator):
    """A density on persistent chains: the answers of a fitted model."""

    #: Windows of the batch-means rule where the settings leave
    #: ``n_windows=None`` (:class:`skmaxent.Settings`).
    _default_n_windows = 4

    def __sklearn_clone__(self):
        """``sklearn.base.clone``, which also carries the settings in effect
        where they are not the defaults (or this estimator's carried ones):
        see :func:`skmaxent.config_context`."""
        clone = super().__sklearn_clone__()
        carried = clone_snapshot(self.__dict__.get("_carried_settings"))
        if carried is not None:
            clone._carried_settings = carried
        return clone

    def _resolve_settings(self) -> Settings:
        """The settings of one call (fit, sample, score_samples, ...): the
        thread's, or the carried ones where the thread's are the defaults."""
        carried = self.__dict__.get("_carried_settings")
        return resolve(carried, self._default_n_windows)

    def _warm_positions(self, bounds=None, box=None):
        """The fitted chains in the unit coordinates of ``box`` inside ``bounds``
        (default: the fitted ones), for ``warm_start`` and ``sample``."""
        bounds = self.bounds_ if bounds is None else bounds
        box = self._box if box is None else box
        return clip_unit(bounds, to_unit(box_geometry(box), self.chains_))

    def _kernel(self) -> ReflectiveHMC:
        """The sampling kernel of every fit, ``sample`` and AIS."""
        return ReflectiveHMC(int(self.n_leapfrog))

    def __sklearn_is_fitted__(self):
        return hasattr(self, "log_partition_")

    # ------------------------------------------------------------ inference
    def _check_X(self, X):
        check_is_fitted(self)
        return validate_X(self, X, reset=False)

    def _features(self, X, row_block):
        return feature_values(self._fm, X, self._box, row_block)

    def _energies(self, X, row_block):
        """``E(x)`` (float64): features times ``coef_`` in float64 for the
        linear energy, the core energy in blocks of ``row_block`` rows
        otherwise."""
        if hasattr(self, "coef_"):
            return -(self._features(X, row_block) @ self.coef_)
        energy, theta, geo = self._core
        out = np.empty(X.shape[0])
        for start, m, rows in row_blocks(X, row_block):
            E = chains.energies(energy, theta, geo, rows)
            out[start : start + m] = np.asarray(E, np.float64)[:m]
        return out

    @finishing
    def energy(self, X):
        """Unnormalised energies ``E(x)`` (``-coef_ · f(x)`` for the linear energy).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Points in user units.

        Returns
        -------
        energy : ndarray of shape (n_samples,)
            ``E(x)`` of each row.
        """
        row_block = self._resolve_settings().row_block
        return self._energies(self._check_X(X), row_block)

    @finishing
    def score_samples(self, X):
        """Log-density of each row of ``X`` in user units (``-inf`` outside the box).

        ``log p(x) = -E(x) - log_partition_``. Rows outside the box get
        ``-inf``, with one warning per call that counts them.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Points in user units.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
            ``log p(x)`` of each row.
        """
        row_block = self._resolve_settings().row_block
        X = self._check_X(X)
        out = -self._energies(X, row_block) - self.log_partition_
        inside = np.all((X >= self.bounds_[:, 0]) & (X <= self.bounds_[:, 1]), axis=1)
        if not np.all(inside):
            warnings.warn(
                f"{int(np.sum(~inside))} of {len(inside)} row(s) of X lie outside "
                f"the model's support bounds_ = {self.bounds_.tolist()}: their "
                "log-density is -inf. Widen bounds (in the units the estimator "
                "sees, after any scaling in a Pipeline) if such values can occur.",
                UserWarning,
                stacklevel=2,
            )
        return np.where(inside, out, -np.inf)

    def score(self, X, y=None):
        """Mean log-likelihood of ``X`` under the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Points in user units.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Mean of ``score_samples(X)``.
        """
        del y
        return float(np.mean(self.score_samples(X)))

    @finishing
    def transform(self, X):
        """Feature values ``f(X)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Points in user units.

        Returns
        -------
        F : ndarray of shape (n_samples, n_features_out)
            Feature values, in the order of ``get_feature_names_out()``.
        """
        row_block = self._resolve_settings().row_block
        return self._features(self._check_X(X), row_block)

    def get_feature_names_out(self, input_features=None):
        """Names of the features, in the order of ``transform``'s columns.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored unless it disagrees with ``feature_names_in_``.

        Returns
        -------
        names : ndarray of str objects
            One name per feature, e.g. ``"x0"``, ``"x0^2"``, ``"x0*x1"``.
        """
        check_is_fitted(self)
        if input_features is not None:
            input_features = np.asarray(input_features, dtype=object)
            default = [f"x{i}" for i in range(self.n_features_in_)]
            expected = getattr(
                self, "feature_names_in_", np.array(default, dtype=object)
            )
            if len(input_features) != self.n_features_in_ or np.any(
                input_features != expected
            ):
                raise ValueError(
                    "input_features is not equal to feature_names_in_: "
                    f"{list(input_features)} != {list(expected)}"
                )
        return np.asarray(self._fm.names, dtype=object)

    @finishing
    def sample(self, n_samples=1, random_state=None):
        """Draw samples from the fitted model by continuing copies of the chains.

        The estimator is not changed.

        Parameters
        ----------
        n_samples : int, default=1
            Number of draws.
        random_state : None, int or RandomState, default=None
            Seeds the draws.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features_in_)
            Draws in user units.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(
                f"n_samples must be a positive integer; got {n_samples!r}."
            )
        s = self._resolve_settings()
        key = key_from_random_state(random_state)
        energy, theta, geo = self._core
        pos = _f32(self._warm_positions())
        C = pos.shape[0]
        rounds = 2 ** math.ceil(math.log2(max(1, -(-n_samples // C))))
        positions = chains.sample(
            key,
            energy,
            theta,
            geo,
            pos,
            self._kernel(),
            HMCParams(np.float32(self.step_size_)),
            s.sample_burn_in + s.sample_thin * rounds,
        )
        kept = positions[s.sample_burn_in + s.sample_thin - 1 :: s.sample_thin]
        U = np.asarray(kept, dtype=np.float64).reshape(-1, pos.shape[1])[:n_samples]
        return to_user(box_geometry(self._box), U)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
