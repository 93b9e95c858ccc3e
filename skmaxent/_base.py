"""The scikit-learn shell shared by the chain-based estimators (MaxEntDual, ...).

It validates input, maps user units to the unit box, turns ``random_state``
into a JAX key, drives the core's jitted training chunks from the host
(progress bar, convergence rule, divergence), and stores fitted attributes
as NumPy arrays. No numerics beyond glue.
"""

import math
import warnings
from functools import partial
from numbers import Integral, Real

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg
import scipy.stats
from sklearn.base import BaseEstimator, DensityMixin, TransformerMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from skmaxent._starts import (
    chain_sharding,
    data_start,
    gaussian_start,
    place_chains,
    to_host,
)
from skmaxent._validation import (
    check_bounds,
    check_feasible,
    check_moments,
    infer_bounds,
)
from skmaxent.core import ais, train
from skmaxent.core.roughness import roughness_matrix
from skmaxent.core.types import Box
from skmaxent.features import compile_features, resolve_features
from skmaxent.priors import check_marginal_priors, prior_fields

#: Iterations of Polyak–Ruppert averaging after the convergence rule holds.
N_AVERAGE = 200
#: Particles and temperatures of the annealed importance sampler for log Z.
AIS_PARTICLES = 512
AIS_TEMPERATURES = 200
#: Initial HMC step size on the unit box when ``step_size="auto"``.
INITIAL_STEP_SIZE = 0.2
#: HMC transitions discarded before ``sample`` collects draws, and kept between.
SAMPLE_BURN_IN = 20
SAMPLE_THIN = 2
#: Rows per compiled block in transform / score_samples.
ROW_BLOCK = 1024
#: Chunks run at a fixed score-matching start before deciding whether it is
#: the fit (the last one is the verdict). One suffices: the chains start on
#: data rows, draws from the model if the start is right, so there is no
#: burn-in to discard, and HMC at any step size leaves the model invariant, so
#: adapting the step size meanwhile does not bias the moments.
N_VERIFY_CHUNKS = 1


def _key_from_random_state(random_state) -> jax.Array:
    """A JAX key from a scikit-learn ``random_state`` (None, int or RandomState)."""
    rng = check_random_state(random_state)
    return jax.random.key(int(rng.randint(np.iinfo(np.int32).max)))


@partial(jax.jit, static_argnames=("fm",))
def _values_batch(X, low, high, fm):
    return fm.values_batch(X, low, high)


@partial(jax.jit, static_argnames=("fm",))
def _weighted_sum(X, w, low, high, fm):
    return fm.mean(X, low, high, w)


def _feature_means(fm, X, weights, bounds):
    """Weighted feature means of the rows of ``X`` without an ``(N, p)`` matrix.

    For large models (``p > DENSE_MAX_FEATURES``): the feature map's matrix
    form (``Xᵀ diag(w) X`` for products) on row blocks of ``ROW_BLOCK``
    (zero-weight padding), summed in float64 across blocks.
    """
    low = jnp.asarray(bounds[:, 0], jnp.float32)
    high = jnp.asarray(bounds[:, 1], jnp.float32)
    w = np.asarray(weights, np.float64) / np.sum(weights)
    total = np.zeros(fm.n_features_out)
    for start, m, padded in _row_blocks(X):
        wb = np.zeros(ROW_BLOCK, np.float32)
        wb[:m] = w[start : start + m]
        total += np.asarray(_weighted_sum(padded, wb, low, high, fm), np.float64)
    return total


@partial(jax.jit, static_argnames=("fm", "n_particles", "n_temperatures", "n_leapfrog"))
def _log_partition(
    key, coef, low, high, step_size, fm, n_particles, n_temperatures, n_leapfrog
):
    energy_and_grad = train.unit_energy(fm, coef, Box(low, high))
    return ais.log_partition(
        key,
        energy_and_grad,
        n_dim=low.shape[0],
        n_particles=n_particles,
        n_temperatures=n_temperatures,
        step_size=step_size,
        n_leapfrog=n_leapfrog,
    )


def _error_quantile(p: int, groups: int | None = None) -> float:
    """Standard errors allowed per feature by the convergence rule.

    The two-sided 5% normal quantile with a Bonferroni correction over the
    ``p`` features: at the exact solution, all ``p`` chain errors lie within
    it with probability at least 95% (1.96 for one feature, 3.5 for 230),
    so a large model is not held back by the largest of many noisy errors.
    With ``groups`` (a standard error from that many group means), Student's
    quantile with ``groups - 1`` degrees of freedom instead.
    """
    if groups is not None:
        return float(scipy.stats.t.isf(0.025 / p, groups - 1))
    return float(scipy.stats.norm.isf(0.025 / p))


def _row_blocks(X):
    """``(start, m, padded)`` over ``X`` in float32 blocks of ``ROW_BLOCK`` rows.

    Padding every block to ``ROW_BLOCK`` rows lets one compiled function
    serve inputs of any length; ``m`` rows of each block are real.
    """
    for start in range(0, X.shape[0], ROW_BLOCK):
        block = np.asarray(X[start : start + ROW_BLOCK], dtype=np.float32)
        m = block.shape[0]
        padded = np.zeros((ROW_BLOCK, block.shape[1]), dtype=np.float32)
        padded[:m] = block
        yield start, m, padded


def _feature_values(fm, X, bounds):
    """``f(X)`` as float64, computed in fixed-size row blocks.

    Each row's features are computed elementwise, so results do not depend
    on the block a row comes in.
    """
    low = jnp.asarray(bounds[:, 0], jnp.float32)
    high = jnp.asarray(bounds[:, 1], jnp.float32)
    out = np.empty((X.shape[0], fm.n_features_out), dtype=np.float64)
    for start, m, padded in _row_blocks(X):
        F = _values_batch(jnp.asarray(padded), low, high, fm)
        out[start : start + m] = np.asarray(F, dtype=np.float64)[:m]
    return out


#: Above this many features the natural step is matrix-free (conjugate
#: gradients with Fisher-vector products from the chains): a dense (p, p)
#: Fisher matrix and its Cholesky factor cost O(p^2) memory, O(p^3) time.
DENSE_MAX_FEATURES = 1024

#: Conjugate-gradient iterations per matrix-free natural step.
CG_ITER = 10

#: Damping of the matrix-free step, relative to the mean diagonal of the Fisher
#: matrix (one batch of chains estimates it: noisier than the dense EMA).
CG_DAMPING = 0.3

#: Windows whose mean gradients enter the convergence rule of penalised fits.
N_GRADIENT_WINDOWS = 4


def gradient_statistic(gradients, gradient):
    """``max_k (|mean_k| - t SE_k)`` over the last windows' mean gradients.

    The standard error is the spread of the windows' means (batch means):
    it includes every source of noise -- the chains, the residual shared
    by all chains, the optimizer's jitter -- which per-chain spreads
    would miss. ``t`` is Student's quantile with ``M - 1`` degrees of
    freedom, Bonferroni-corrected over the parameters. ``inf`` until
    :data:`N_GRADIENT_WINDOWS` windows are in.
    """
    gradients.append(gradient)
    del gradients[:-N_GRADIENT_WINDOWS]
    M = len(gradients)
    if M < N_GRADIENT_WINDOWS:
        return np.inf
    g = np.asarray(gradients)
    se = g.std(axis=0, ddof=1) / np.sqrt(M)
    t = float(scipy.stats.t.isf(0.025 / g.shape[1], M - 1))
    return float(np.max(np.abs(g.mean(axis=0)) - t * se))


class _BaseEBM(DensityMixin, TransformerMixin, BaseEstimator):
    """Shared shell of the exponential-family estimators trained on chains."""

    _parameter_constraints: dict = {
        "features": [StrOptions({"linear", "quadratic"}), list, tuple],
        "bounds": [None, "array-like"],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "roughness": [Interval(Real, 0, None, closed="left")],
        "n_chains": [Interval(Integral, 2, None, closed="left")],
        "n_leapfrog": [Interval(Integral, 1, None, closed="left")],
        "step_size": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "init": [StrOptions({"auto", "score_matching", "zero"})],
        "devices": [None, Interval(Integral, 1, None, closed="left")],
        "marginal_priors": [None, list, tuple],
    }

    # ------------------------------------------------------------------ fit
    def _validate_inputs(self, X, moments, sample_weight):
        """Resolve n, bounds, the feature map and the targets (NumPy, no tracing)."""
        fm, bounds, mu, _, _ = self._validate_data(X, moments, sample_weight)
        return fm, bounds, mu

    def _validate_data(self, X, moments, sample_weight):
        """As :meth:`_validate_inputs`, also returning the validated ``X`` and weights.

        ``X`` and ``sample_weight`` are ``None`` when fitting from ``moments``.
        """
        if (X is None) == (moments is None):
            raise ValueError(
                "Pass exactly one of X (data whose feature means are the targets) "
                "and moments= (the targets themselves); got "
                f"{'both' if X is not None else 'neither'}."
            )
        if X is not None:
            X = validate_data(self, X, dtype=[np.float64, np.float32], reset=True)
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
            n = X.shape[1]
            if self.bounds is None:
                bounds = infer_bounds(X[sample_weight > 0])
            else:
                bounds = check_bounds(self.bounds, n)
                outside = np.any((X < bounds[:, 0]) | (X > bounds[:, 1]), axis=1)
                outside &= sample_weight > 0
                if np.any(outside):
                    i = int(np.flatnonzero(outside)[0])
                    raise ValueError(
                        f"X has {int(outside.sum())} row(s) outside bounds, e.g. row "
                        f"{i} = {X[i].tolist()}; bounds = {bounds.tolist()}. Widen "
                        "bounds or drop those rows: nothing is clipped silently."
                    )
            names = getattr(self, "feature_names_in_", None)
        else:
            if sample_weight is not None:
                raise ValueError("sample_weight applies to X; fit(moments=...) got it.")
            if self.bounds is None:
                raise ValueError(
                    "fit(moments=...) requires bounds: pass bounds=array-like of "
                    "shape (n_features_in_, 2) with lo < hi on each row."
                )
            bounds = check_bounds(self.bounds, None)
            n = bounds.shape[0]
            self.n_features_in_ = n
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
            names = None
        specs = resolve_features(self.features, n)
        fm = compile_features(
            specs, n, None if names is None else tuple(str(s) for s in names)
        )
        _, std = fm.uniform_moments(bounds[:, 0], bounds[:, 1])
        constant = np.flatnonzero(~(std > 1e-12 * np.maximum(1.0, np.abs(_))))
        if constant.size:
            k = int(constant[0])
            raise ValueError(
                f"Feature {k} '{fm.names[k]}' is constant on the box {bounds.tolist()} "
                "(a degree-0 Legendre polynomial, or an indicator covering or "
                "missing the whole range): its expectation is fixed, so it "
                "cannot be a constraint. Remove it from features."
            )
        init = getattr(self, "init", "zero")
        if init == "score_matching" and (X is None or not fm.differentiable):
            raise ValueError(
                "init='score_matching' needs data X and features differentiable in "
                "x (no Indicator); use init='auto' to fall back to 'zero' otherwise."
            )
        if X is not None and fm.n_features_out > DENSE_MAX_FEATURES:
            mu = _feature_means(fm, X, sample_weight, bounds)
        elif X is not None:
            F = _feature_values(fm, X, bounds)
            mu = np.average(F, axis=0, weights=sample_weight)
        else:
            mu = check_moments(moments, fm.names)
            check_feasible(fm.specs, mu, bounds, names=fm.names)
        return fm, bounds, mu, X, sample_weight

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X=None, y=None, *, moments=None, sample_weight=None):
        """Fit the model to data ``X`` or to target ``moments``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features_in_), default=None
            Data; the targets are the (weighted) means of the features over it.
        y : None
            Ignored.
        moments : array-like of shape (n_features_out,) or dict, default=None
            Target feature expectations in feature order, or ``{name: value}``
            for every feature. Requires ``bounds``.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows of ``X``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        del y
        snapshot = dict(self.__dict__)
        try:
            self._fit(X, moments, sample_weight)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(snapshot)
            raise
        return self

    def _fit(self, X, moments, sample_weight):
        fm, bounds, mu, X, sample_weight = self._validate_data(
            X, moments, sample_weight
        )
        priors = check_marginal_priors(getattr(self, "marginal_priors", None), bounds)
        if priors and self.n_chains < 4:
            raise ValueError(
                "marginal_priors need n_chains >= 4 (their gradient splits the "
                f"chains in two halves of at least 2); got n_chains={self.n_chains}."
            )
        # Host-side glue is NumPy: eager JAX ops would each compile per shape.
        low = bounds[:, 0].astype(np.float32)
        high = bounds[:, 1].astype(np.float32)
        mean, std = fm.uniform_moments(bounds[:, 0], bounds[:, 1])
        nu = (mu - mean) / std
        p = fm.n_features_out
        matrix_free = p > DENSE_MAX_FEATURES
        if matrix_free and self.roughness > 0:
            raise ValueError(
                f"roughness > 0 is supported up to {DENSE_MAX_FEATURES} features "
                f"(its penalty matrix is dense); got {p}. Use alpha for a "
                "penalty on larger models."
            )
        if self.roughness > 0:
            R = roughness_matrix(fm.specs, bounds[:, 0], bounds[:, 1])
        else:
            R = np.zeros((0, 0) if matrix_free else (p, p))

        sharding = chain_sharding(getattr(self, "devices", None), self.n_chains)
        key = _key_from_random_state(self.random_state)
        key, k_init, k_ais = jax.random.split(key, 3)
        warm = self.warm_start and self.__sklearn_is_fitted__()
        if warm and (self._fm != fm or self.chains_.shape[0] != self.n_chains):
            raise ValueError(
                "warm_start=True needs the same features, number of variables and "
                "n_chains as the previous fit; refit with warm_start=False."
            )
        init = getattr(self, "init", "zero")
        start, used = None, "zero"
        rng = np.random.default_rng(np.asarray(jax.random.key_data(k_init)))
        if not warm and X is not None and fm.differentiable and init != "zero":
            start, pos0 = data_start(
                fm, X, sample_weight, bounds, std, init, self.n_chains, rng
            )
            if start is not None:
                used = "score_matching"
        elif not warm and X is None and init == "auto":
            gauss = gaussian_start(fm, mu, bounds)
            if gauss is not None:
                coef0, mean0, cov0 = gauss
                start, used = coef0 * std, "gaussian"
                pos0 = rng.multivariate_normal(mean0, cov0, size=self.n_chains)
                pos0 = np.clip(pos0, bounds[:, 0], bounds[:, 1])
        step0 = INITIAL_STEP_SIZE if self.step_size == "auto" else float(self.step_size)
        width = bounds[:, 1] - bounds[:, 0]
        if warm:
            phi0 = self.coef_ * std
            pos0 = np.clip((self.chains_ - bounds[:, 0]) / width, 0.0, 1.0)
            step0 = self.step_size_
        elif start is not None:
            phi0 = start
            pos0 = (pos0 - bounds[:, 0]) / width
        else:
            phi0 = np.zeros(p)
            pos0 = jax.random.uniform(k_init, (self.n_chains, fm.n_features_in))
        f32 = partial(np.asarray, dtype=np.float32)
        pos0 = f32(pos0)
        pos0 = place_chains(pos0, sharding)
        state, Q = train.start(
            key,
            f32(phi0),
            pos0,
            np.float32(step0),
            f32(std),
            low,
            high,
            np.float32(self.alpha),
            np.float32(self.roughness),
            f32(R),
            fm,
            matrix_free,
        )
        config = train.TrainConfig(
            n_leapfrog=int(self.n_leapfrog), cg_iter=CG_ITER if matrix_free else 0
        )
        hyper = train.Hyper(
            nu=jnp.asarray(nu, jnp.float32),
            mean=jnp.asarray(mean, jnp.float32),
            std=jnp.asarray(std, jnp.float32),
            low=low,
            high=high,
            Q=Q,
            learning_rate=jnp.float32(self.learning_rate),
            damping=jnp.float32(CG_DAMPING if matrix_free else 1e-3),
            max_norm=jnp.float32(0.5),
            ema=jnp.float32(0.1),
            target_accept=jnp.float32(0.8),
            adapt=jnp.asarray(self.step_size == "auto"),
            learn=jnp.asarray(True),
            average=jnp.asarray(True),
            max_iter=jnp.int32(self.max_iter),
            **prior_fields(priors, self.n_chains),
        )
        state, history, converged, error = self._run(
            state, hyper, fm, config, verify=start is not None and not priors
        )
        n_avg = float(state.n_avg)
        phi = np.asarray(state.phi_sum if n_avg > 0 else state.phi, np.float64)
        coef = phi / max(n_avg, 1.0) / std
        info = _log_partition(
            k_ais,
            jnp.asarray(coef, jnp.float32),
            low,
            high,
            state.step_size,
            fm,
            AIS_PARTICLES,
            AIS_TEMPERATURES,
            int(self.n_leapfrog),
        )
        log_z, log_z_std = float(info.log_z), float(info.log_z_std)
        if not (np.all(np.isfinite(coef)) and np.isfinite(log_z)):
            raise RuntimeError(
                "The fit diverged: non-finite parameters or log-partition after "
                f"{int(state.iteration)} iterations. Try a smaller learning_rate, "
                "alpha > 0, or check that the targets are not at a bound."
            )

        self._fm = fm
        self.bounds_ = bounds
        self.moments_ = np.asarray(mu, dtype=np.float64)
        self.coef_ = coef
        self.n_iter_ = int(state.iteration)
        self.converged_ = bool(converged)
        self.moment_error_ = float(error)
        self.step_size_ = float(state.step_size)
        self.chains_ = np.asarray(
            bounds[:, 0] + to_host(state.chains.position).astype(np.float64) * width,
            dtype=np.float64,
        )
        self.log_partition_ = log_z
        self.log_partition_std_ = log_z_std
        self.history_ = history
        self.init_ = used
        if not converged:
            warnings.warn(
                f"{type(self).__name__} did not meet tol={self.tol} in "
                f"max_iter={self.max_iter} iterations (last window's standardised "
                f"moment error {error:.3g}, not within tol of zero up to its Monte "
                "Carlo error). Increase max_iter or n_chains, or raise tol.",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _run(self, state, hyper, fm, config, verify=False):
        """Host loop over chunks: learn until the convergence rule holds, then average.

        Convergence rule: on the latest chunk, ``max_k (|e_k| - z SE_k) < tol``,
        with ``e_k`` the chunk mean of the standardised residual
        ``(E_chains[f_k] - mu_k) / s_k`` (plus the penalty's gradient when
        ``alpha`` or ``roughness`` is positive), ``SE_k`` its Monte Carlo
        standard error (spread of the per-chain chunk means) and ``z`` the
        Bonferroni-corrected normal quantile of :func:`_error_quantile`: the
        error is indistinguishable from one below ``tol``. With marginal
        priors the residual includes their gradient, whose noise the chains'
        spread misses: the rule is then :func:`gradient_statistic` over the
        last :data:`N_GRADIENT_WINDOWS` chunks (batch means), and there is no
        verification phase.

        With ``verify`` (a score-matching or Gaussian start), the chains first
        run :data:`N_VERIFY_CHUNKS` chunk(s) at the fixed start without any
        parameter step; when the rule holds on the last, that start is the fit.
        Otherwise learning continues from it as usual.
        """
        pieces = {"moment_error": [], "acceptance": [], "step_size": [], "phase": []}
        # The marginal priors' gradient is noisy beyond the per-chain spread
        # (a covariance estimate): with priors the rule uses batch means.
        priors = hyper.bins.col.shape[0] > 0
        windows = []
        # Matrix-free fits estimate the standard error from group means.
        C = state.chains.position.shape[0]
        groups = train.n_groups(C) if config.cg_iter else None
        z = _error_quantile(fm.n_features_out, groups)
        converged = False
        averaged = 0
        error = np.inf
        bar = None
        if self.verbose > 0:
            from tqdm.auto import tqdm

            bar = tqdm(total=self.max_iter, desc=type(self).__name__)
        done = int(state.iteration)
        limit = done + self.max_iter
        hyper = hyper._replace(max_iter=jnp.int32(limit))
        verifying = N_VERIFY_CHUNKS if verify else 0
        fixed = hyper._replace(learn=jnp.asarray(False), average=jnp.asarray(False))
        while done < limit:
            phase = "verify" if verifying else ("average" if converged else "learn")
            if not converged:
                state = state._replace(
                    phi_sum=np.zeros(state.phi_sum.shape, np.float32),
                    n_avg=np.float32(0.0),
                )
            state, info = train.run_chunk(
                state, fixed if verifying else hyper, fm, config
            )
            new_done = int(state.iteration)
            k = new_done - done
            done = new_done
            pieces["moment_error"].append(np.asarray(info.moment_error)[:k])
            pieces["acceptance"].append(np.asarray(info.acceptance)[:k])
            pieces["step_size"].append(np.asarray(info.step_size)[:k])
            pieces["phase"].append(np.full(k, phase))
            if not bool(info.finite):
                res = np.asarray(info.residual)
                worst = int(np.nanargmax(np.abs(np.nan_to_num(res, nan=np.inf))))
                raise RuntimeError(
                    f"The fit diverged at iteration {done}: non-finite parameters "
                    f"or chains (largest residual on feature {worst} "
                    f"'{fm.names[worst]}'). Try a smaller learning_rate or alpha > 0."
                )
            if priors:
                stat = gradient_statistic(windows, np.asarray(info.residual))
            else:
                se = np.asarray(info.residual_se)
                stat = float(np.max(np.abs(np.asarray(info.residual)) - z * se))
            error = float(np.max(np.abs(np.asarray(info.residual))))
            if bar is not None:
                bar.update(k)
                bar.set_postfix(moment_error=f"{error:.2g}", phase=phase)
            if verifying:
                verifying -= 1
                if verifying:
                    continue
                if stat < self.tol:
                    converged = True
                    break
                continue
            if converged:
                averaged += k
                if averaged >= N_AVERAGE:
                    break
            elif stat < self.tol:
                converged = True
                hyper = hyper._replace(adapt=jnp.asarray(False))
        if bar is not None:
            bar.close()
        history = {name: np.concatenate(v) for name, v in pieces.items()}
        return state, history, converged, error

    def __sklearn_is_fitted__(self):
        return hasattr(self, "log_partition_")

    # ------------------------------------------------------------ inference
    def _check_X(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return X

    def _box(self):
        return (
            self.bounds_[:, 0].astype(np.float32),
            self.bounds_[:, 1].astype(np.float32),
        )

    def _features(self, X):
        return _feature_values(self._fm, X, self.bounds_)

    def energy(self, X):
        """Unnormalised energies ``E(x) = -coef_ · f(x)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)

        Returns
        -------
        energy : ndarray of shape (n_samples,)
        """
        X = self._check_X(X)
        return -(self._features(X) @ self.coef_)

    def score_samples(self, X):
        """Log-density of each row of ``X`` in user units (``-inf`` outside the box).

        ``log p(x) = -E(x) - log_partition_ - sum(log(hi - lo))``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
        """
        X = self._check_X(X)
        log_volume = float(np.sum(np.log(self.bounds_[:, 1] - self.bounds_[:, 0])))
        out = self._features(X) @ self.coef_ - self.log_partition_ - log_volume
        inside = np.all((X >= self.bounds_[:, 0]) & (X <= self.bounds_[:, 1]), axis=1)
        return np.where(inside, out, -np.inf)

    def score(self, X, y=None):
        """Mean log-likelihood of ``X`` under the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
        y : None
            Ignored.

        Returns
        -------
        score : float
        """
        del y
        return float(np.mean(self.score_samples(X)))

    def transform(self, X):
        """Feature values ``f(X)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)

        Returns
        -------
        F : ndarray of shape (n_samples, n_features_out)
        """
        return self._features(self._check_X(X))

    def get_feature_names_out(self, input_features=None):
        """Names of the features, in the order of ``transform``'s columns.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored unless it disagrees with ``feature_names_in_``.

        Returns
        -------
        names : ndarray of str objects
        """
        check_is_fitted(self)
        if input_features is not None:
            input_features = np.asarray(input_features, dtype=object)
            expected = getattr(
                self,
                "feature_names_in_",
                np.array([f"x{i}" for i in range(self.n_features_in_)], dtype=object),
            )
            if len(input_features) != self.n_features_in_ or np.any(
                input_features != expected
            ):
                raise ValueError(
                    "input_features is not equal to feature_names_in_: "
                    f"{list(input_features)} != {list(expected)}"
                )
        return np.asarray(self._fm.names, dtype=object)

    def sample(self, n_samples=1, random_state=None):
        """Draw samples from the fitted model by continuing copies of the chains.

        The estimator is not changed.

        Parameters
        ----------
        n_samples : int, default=1
        random_state : None, int or RandomState, default=None

        Returns
        -------
        X : ndarray of shape (n_samples, n_features_in_)
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(
                f"n_samples must be a positive integer; got {n_samples!r}."
            )
        key = _key_from_random_state(random_state)
        low, high = self._box()
        coef = np.asarray(self.coef_, np.float32)
        width = self.bounds_[:, 1] - self.bounds_[:, 0]
        pos = np.clip((self.chains_ - self.bounds_[:, 0]) / width, 0.0, 1.0)
        pos = pos.astype(np.float32)
        chains = train.init_chains(self._fm, coef, Box(low, high), pos)
        C = pos.shape[0]
        rounds = 2 ** math.ceil(math.log2(max(1, -(-n_samples // C))))
        _, positions = train.advance(
            key,
            chains,
            coef,
            low,
            high,
            jnp.float32(self.step_size_),
            self._fm,
            int(self.n_leapfrog),
            SAMPLE_BURN_IN + SAMPLE_THIN * rounds,
        )
        kept = positions[SAMPLE_BURN_IN + SAMPLE_THIN - 1 :: SAMPLE_THIN]
        U = np.asarray(kept, dtype=np.float64).reshape(-1, pos.shape[1])[:n_samples]
        return self.bounds_[:, 0] + U * (self.bounds_[:, 1] - self.bounds_[:, 0])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
