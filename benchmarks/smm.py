"""SMM gradient: the covariance estimator against the explicit covariance matrix.

One MomentMatchingEBM iteration (one reflective HMC transition of every
chain, standardised quadratic features at the chains, the gradient of
``J = 1/2 |E[g] - nu|^2``, one Adam step) at ``p = n (n + 3) / 2`` features
(n = 199: p = 20,099) and C = 512 chains, by two routes that differ only in
the gradient:

- ``estimator``: the package's split-half covariance estimator,
  ``w = cross_fit_weights(G, ...)``, ``grad = -Gᵀ w``: O(C p) time and memory;
- ``explicit``: ``Cov[g, g] (gbar - nu)`` with the ``(p, p)`` covariance
  formed (1.6 GB in float32 at p = 20,000): O(C p²) time, O(p²) memory.

Each route runs in its own subprocess so that its peak resident memory
(``ru_maxrss`` of the child) is its own; a third subprocess builds the same
inputs and runs neither route, giving the baseline (JAX runtime, inputs).
Reported: the first call (compilation and one run), median seconds per
iteration over ``--repeats`` calls, peak RSS and peak RSS above the
baseline. Both routes' gradients are first compared on the same chain
states at a smaller ``n``, so that the table compares two computations of
the same quantity.

Run: ``python benchmarks/smm.py [--n 199] [--chains 512] [--repeats 5]``.
"""

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import system_info, write_results  # noqa: E402


def inputs(n, C, seed=0):
    """Feature map, hyper-parameters, state and targets of a quadratic problem."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from skmaxent.core.energy import Geometry, Linear
    from skmaxent.core.sampling.hmc import ReflectiveHMC
    from skmaxent.core.sampling.kernel import Target
    from skmaxent.core.training import smm
    from skmaxent.features import compile_features

    fm = compile_features("quadratic", n)
    low, high = -np.ones(n, np.float32), np.ones(n, np.float32)
    mean, std = fm.uniform_moments(low, high)
    rng = np.random.default_rng(seed)
    # Targets of a Gaussian with sd 0.3 and weak random correlations.
    A = rng.normal(size=(n, n)) * 0.02
    cov = 0.09 * (np.eye(n) + A @ A.T / n)
    iu, ju = np.triu_indices(n, k=1)
    mu = np.r_[np.zeros(n), np.diag(cov), cov[iu, ju]]
    nu = jnp.asarray((mu - mean) / std, jnp.float32)
    p = fm.n_features_out
    theta = jnp.zeros(p, jnp.float32)
    std32, mean32 = jnp.asarray(std, jnp.float32), jnp.asarray(mean, jnp.float32)
    geo = Geometry(jnp.asarray(low), jnp.asarray(high), 0 * low, mean32, std32)
    eg = Linear(fm).on_unit(theta, geo)
    pos = jax.random.uniform(jax.random.key(seed), (C, n))
    chains = ReflectiveHMC(5).init(pos, Target(eg))
    opt_state = smm.optimizer(0.02, 1.0).init(theta)
    return fm, (theta, opt_state, chains, jax.random.key(seed + 1)), (
        nu, mean32, std32, jnp.asarray(low), jnp.asarray(high)
    )  # fmt: skip


def gradient(route, G, nu):
    import jax.numpy as jnp

    from skmaxent.core.training.cross_fit import cross_fit_weights, linear_smm_gradient

    if route == "estimator":
        w, _, _ = cross_fit_weights(G, lambda m: m - nu)
        return linear_smm_gradient(G, w)
    Gc = G - jnp.mean(G, axis=0)
    cov = Gc.T @ Gc / G.shape[0]  # the (p, p) matrix
    return cov @ (jnp.mean(G, axis=0) - nu)


def iteration(route, fm, state, hyper):
    """One SMM iteration; ``route`` picks the gradient."""
    import jax
    import jax.numpy as jnp

    from skmaxent.core.energy import Geometry, Linear
    from skmaxent.core.sampling.hmc import HMCParams, ReflectiveHMC
    from skmaxent.core.sampling.kernel import Target
    from skmaxent.core.training import smm

    theta, opt_state, chains, key = state
    nu, mean, std, low, high = hyper
    key, k = jax.random.split(key)
    eg = Linear(fm).on_unit(theta, Geometry(low, high, 0 * low, mean, std))
    kernel, target = ReflectiveHMC(5), Target(eg)
    current = kernel.init(chains.position, target)  # the cache at theta
    chains, _ = kernel.step(k, current, target, HMCParams(0.05))
    x = low + chains.position * (high - low)
    G = (fm.values_batch(x, low, high) - mean) / std
    grad = gradient(route, G, nu)
    updates, opt_state = smm.optimizer(0.02, 1.0).update(grad, opt_state)
    return (theta + updates, opt_state, chains, key), jnp.linalg.norm(grad)


def child(route, n, C, repeats):
    """Run one route (or none) in this process; print a JSON line."""
    import jax

    fm, state, hyper = inputs(n, C)
    jax.block_until_ready(state)
    out = {"route": route}
    if route != "baseline":
        step = jax.jit(partial(iteration, route, fm))
        start = time.perf_counter()
        state, norm = jax.block_until_ready(step(state, hyper))
        out["compile_s"] = time.perf_counter() - start
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            state, norm = jax.block_until_ready(step(state, hyper))
            times.append(time.perf_counter() - start)
        out["times"] = times
        out["seconds"] = statistics.median(times)
        out["grad_norm"] = float(norm)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def agreement(n=30, C=512):
    """Max relative difference of the two routes' gradients on the same states."""
    import jax
    import numpy as np

    fm, state, hyper = inputs(n, C)
    nu, mean, std, low, high = hyper
    x = low + state[2].position * (high - low)
    G = (fm.values_batch(x, low, high) - mean) / std
    plain = np.asarray(gradient("explicit", G, nu), np.float64)
    # The split-half estimator estimates the same Cov·delta with other noise;
    # compare the plain weights (same chains, same estimate) for exactness.
    from skmaxent.core.training.cross_fit import linear_smm_gradient, smm_weights

    w = smm_weights(G, G.mean(axis=0) - nu)
    est = np.asarray(jax.jit(linear_smm_gradient)(G, w), np.float64)
    return float(np.max(np.abs(est - plain)) / np.max(np.abs(plain)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=199)
    parser.add_argument("--chains", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", choices=["estimator", "explicit", "baseline"])
    args = parser.parse_args()
    if args.child:
        child(args.child, args.n, args.chains, args.repeats)
        return
    info = system_info()
    p = args.n * (args.n + 3) // 2
    print(f"jax {info['jax']} on {info['device']} ({info['cpu_count']} CPUs)")
    print(f"n = {args.n}, p = {p} features, C = {args.chains} chains")
    print(f"same chains, plain weights vs explicit Cov·delta: max rel diff "
          f"{agreement():.1e} (n = 30)")  # fmt: skip
    rows = {}
    for route in ("baseline", "estimator", "explicit"):
        out = subprocess.run(
            [sys.executable, __file__, "--child", route, "--n", str(args.n),
             "--chains", str(args.chains), "--repeats", str(args.repeats)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        rows[route] = json.loads(out.stdout.strip().splitlines()[-1])
    base = rows["baseline"]["peak_rss_mb"]
    print(f"{'route':>10} {'first s':>10} {'s / iter':>10} {'peak MB':>9} "
          f"{'above base':>11}")  # fmt: skip
    for route in ("estimator", "explicit"):
        r = rows[route]
        print(f"{route:>10} {r['compile_s']:10.2f} {r['seconds']:10.4f} "
              f"{r['peak_rss_mb']:9.0f} {r['peak_rss_mb'] - base:11.0f}")  # fmt: skip
    print(f"{'baseline':>10} {'':>10} {'':>10} {base:9.0f} {0:11.0f}")
    est, exp = rows["estimator"], rows["explicit"]
    print(
        f"ratio explicit / estimator: time per iteration "
        f"{exp['seconds'] / est['seconds']:.1f}x, memory above baseline "
        f"{(exp['peak_rss_mb'] - base) / max(est['peak_rss_mb'] - base, 1):.1f}x"
    )
    path = write_results("smm", {"args": vars(args), "p": p, "rows": rows})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
