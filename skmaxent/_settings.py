"""Every setting of a chain fit that is not a hyper-parameter, built in one place.

The estimators read their numerical settings from one frozen
:class:`Settings` (the class attribute ``_settings``), never from module
constants: a test or a benchmark that needs another value sets it on its
instance, ``model._settings = Settings(dense_max_features=0)``, instead of
monkeypatching a module.
"""

from dataclasses import dataclass

__all__ = ["Settings"]


@dataclass(frozen=True)
class Settings:
    """Numerical settings of the chain estimators.

    Loop and convergence
        chunk_size : iterations per compiled chunk (the convergence rule's
            window). n_average : the fewest Polyak–Ruppert iterations after
            the rule holds. average_precision, max_average : on the
            residual rule the average goes on until its Monte Carlo error
            is at most ``average_precision`` model sd per feature
            (Bonferroni over the features), or ``max_average`` iterations.
            n_windows : windows in the batch-means rule.
        verify_chunks : chunks run at a fixed score-matching / Gaussian start
            before deciding whether it is the fit.
    Sampler
        initial_step_size : HMC step size on the unit box with
            ``step_size="auto"``. target_accept : acceptance it is tracked
            towards (median chain). adapt_gain : gain of that tracking.
            min_acceptance : a chunk whose mean HMC acceptance is below it
            never satisfies the convergence rule (its chains barely moved,
            so their spread is no Monte Carlo error), and ends an average.
    Dual (MaxEntDual)
        dense_max_features : above it the natural step is matrix-free
            (conjugate gradients). cg_iter : CG iterations per step.
        cg_damping, damping : damping of the matrix-free (or as many
            features as chains, where the chains' Fisher is rank-deficient)
            and dense steps, relative to the mean diagonal of ``F + Q``.
            max_norm : the step's clip in (damped) Fisher norm per square root of
            the number of variables (a KL budget per variable, so that the
            iterations from a far start do not grow with the number of
            variables). ema : weight
            of the Fisher moving average.
    Moment matching (MomentMatchingEBM)
        max_grad_norm : gradient clipping norm before Adam.
    Inference
        ais_particles : AIS particles; ``None`` uses ``n_chains``.
        ais_min_temperatures, ais_temperatures : the shortest and the
            longest AIS schedule; it starts short and doubles while the
            target standard error is far (:mod:`skmaxent._logz`).
        ais_reference : ``"gaussian"`` (AIS from a defensive Gaussian fitted
            to the final chains: short paths for near-Gaussian and strongly
            correlated models) or ``"uniform"`` (from the uniform
            distribution on the box). ais_eps : the uniform share of the
            Gaussian reference. ais_inflate : its widening of the chains'
            standard deviations. ais_full_max : up to this many variables
            the reference has a full covariance, above a diagonal one.
        ais_target_std : AIS runs (of ``ais_particles`` each) are pooled
            until ``log_partition_std_`` is at most this (nats), or
            ``ais_max_runs`` are in at the longest schedule; a larger one is
            warned about.
        sample_burn_in, sample_thin : HMC transitions discarded before
            ``sample`` collects draws, and kept between two draws.
        settle_steps : HMC transitions the chains run at the returned
            parameters before ``log Z`` where those are not the iterate the
            chains followed (a non-linear energy's average of iterates,
            early stopping's best window), so that ``chains_``, ``sample``
            and the chain check are of the returned model.
        row_block : rows per compiled block in ``transform``/``score_samples``.
        sm_max_features : largest model whose score-matching start is solved
            (a dense ``p x p`` system).
    Compilation and memory
        quick_compile_max : problems up to this size (``n_chains`` times
            the number of variables plus parameters) verify a start, and
            compute the ``log Z`` of a fit that ended there, with quickly
            compiled programs (:mod:`skmaxent.core.programs`): a first small
            fit is mostly compilation.
        max_programs : compiled programs the package keeps (over all
            estimators; equal configurations share them). A fit that starts
            with more clears them all (:func:`skmaxent.clear_caches`), so
            that fits with ever new ``Custom`` functions or shapes do not
            exhaust memory (each program holds tens of memory mappings).
    """

    chunk_size: int = 50
    n_average: int = 200
    average_precision: float = 0.05
    max_average: int = 2000
    n_windows: int = 4
    verify_chunks: int = 1
    initial_step_size: float = 0.2
    target_accept: float = 0.8
    adapt_gain: float = 0.05
    min_acceptance: float = 0.05
    dense_max_features: int = 1024
    cg_iter: int = 10
    cg_damping: float = 0.3
    gaussian_metric: bool = True
    damping: float = 1e-3
    max_norm: float = 0.5
    ema: float = 0.1
    max_grad_norm: float = 1.0
    ais_particles: int | None = None
    ais_min_temperatures: int = 8
    ais_temperatures: int = 100
    ais_reference: str = "gaussian"
    ais_eps: float = 0.1
    ais_inflate: float = 1.2
    ais_full_max: int = 200
    ais_target_std: float = 0.05
    ais_max_runs: int = 8
    sample_burn_in: int = 20
    sample_thin: int = 2
    settle_steps: int = 100
    row_block: int = 1024
    sm_max_features: int = 8192
    quick_compile_max: int = 2**17
    max_programs: int = 128
