"""Sampler throughput: skmaxent's reflective HMC against blackjax and a matmul ceiling.

The energy is the quadratic-feature model in matrix form,
``E(u) = -(b·u + u·W·u)`` with ``W`` symmetric (entries ~ N(0, 1/n)) and
``b ~ N(0, 1)``, on the unit box ``[0, 1]^n``; its gradient
``-(b + (W + Wᵀ) u)`` is analytic. Three runners advance C chains for
``n_steps`` transitions of ``n_leapfrog`` leapfrog steps, vmapped over chains
and scanned over steps:

* ``skmaxent``: :func:`skmaxent.core.sampling.chains.run`, analytic gradient.
* ``blackjax``: ``blackjax.hmc`` on ``z = logit(u)`` with the log-Jacobian
  ``sum log σ(z)(1 - σ(z))`` (how a blackjax user would handle a box), with
  ``jax.grad`` gradients, same ``n_leapfrog``, a step size scaled by the
  ``du/dz <= 1/4`` of the transform.
* ``ceiling``: the bare ``(C, n) @ (n, n)`` matmul, once per leapfrog step,
  in a ``lax.scan``: no sampler can evaluate gradients faster.

Throughput is leapfrog-gradient evaluations per second,
``C * n_steps * n_leapfrog / seconds``, median of several runs after
compilation, the runners timed in turns. The last line printed is
``ratio skmaxent/blackjax: R`` for n = 50, C = 1024. ``--full`` sweeps n and C
and writes a JSON file under ``benchmarks/results/``. With several JAX devices
(e.g. ``XLA_FLAGS=--xla_force_host_platform_device_count=2``) the chains are
sharded over all of them.

Run: ``python benchmarks/sampler.py [--full]``.
"""

import argparse
import sys
from functools import partial
from pathlib import Path

import blackjax
import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import system_info, time_in_turns, write_results  # noqa: E402

from skmaxent.core.sampling import chains, hmc  # noqa: E402
from skmaxent.core.sampling.kernel import Target  # noqa: E402

N_LEAPFROG = 10
STEP_SIZE = 0.05
#: du/dz = σ(z)(1 - σ(z)) <= 1/4: a logit-space step of 4ε moves u by <= ε.
BLACKJAX_STEP_SIZE = 4 * STEP_SIZE
#: Work per timed call, in multiply-adds of the gradient matmul.
WORK = 3e9


def problem(key, n):
    k_w, k_b, k_u = jax.random.split(key, 3)
    A = jax.random.normal(k_w, (n, n)) / jnp.sqrt(n)
    W = 0.5 * (A + A.T)  # symmetric, entries of variance ~1/n
    b = jax.random.normal(k_b, (n,))
    return W, b, k_u


def make_energy_and_grad(W, b):
    Ws = W + W.T

    def energy_and_grad(u):
        # One matvec: u·W·u = u·(Ws u)/2 for symmetric parts.
        g = b + Ws @ u
        return -(b @ u + 0.5 * (u @ (g - b))), -g

    return energy_and_grad


@partial(jax.jit, static_argnames=("n_steps",))
def run_skmaxent(key, positions, W, b, n_steps):
    energy_and_grad = make_energy_and_grad(W, b)
    kernel, target = hmc.ReflectiveHMC(N_LEAPFROG), Target(energy_and_grad)
    states = kernel.init(positions, target)
    params = hmc.HMCParams(STEP_SIZE)
    states, infos = chains.run(kernel, key, states, target, params, n_steps)
    return states.position, jnp.mean(infos.acceptance_rate)


@partial(jax.jit, static_argnames=("n_steps",))
def run_blackjax(key, positions, W, b, n_steps):
    def logdensity(z):
        u = jax.nn.sigmoid(z)
        log_jacobian = jnp.sum(jax.nn.log_sigmoid(z) + jax.nn.log_sigmoid(-z))
        return b @ u + u @ W @ u + log_jacobian

    n = positions.shape[1]
    kernel = blackjax.hmc(
        logdensity,
        step_size=BLACKJAX_STEP_SIZE,
        inverse_mass_matrix=jnp.ones(n),
        num_integration_steps=N_LEAPFROG,
    )
    z = jnp.log(positions) - jnp.log1p(-positions)
    states = jax.vmap(kernel.init)(z)
    n_chains = positions.shape[0]

    def body(states, k):
        states, info = jax.vmap(kernel.step)(jax.random.split(k, n_chains), states)
        return states, jnp.mean(info.acceptance_rate)

    states, acceptance = jax.lax.scan(body, states, jax.random.split(key, n_steps))
    return jax.nn.sigmoid(states.position), jnp.mean(acceptance)


@partial(jax.jit, static_argnames=("n_steps",))
def run_ceiling(key, positions, M, b, n_steps):
    # M is the symmetric part of W scaled to spectral norm 1/2 (outside the jit,
    # by the caller): the affine map contracts, so values stay bounded (no
    # overflow, no denormals).
    del key

    def body(x, _):
        return x @ M + b, None

    x, _ = jax.lax.scan(body, positions, None, length=n_steps * N_LEAPFROG)
    return x, jnp.zeros(())


def measure(n, n_chains, repeats=5):
    """Evaluations per second (and acceptance, compile time) of every runner.

    The runners are timed in turns (see :func:`_common.time_in_turns`).
    """
    W, b, k_u = problem(jax.random.key(0), n)
    Ws = np.asarray(W + W.T, dtype=np.float64)
    M = jnp.asarray(Ws / (2.0 * np.linalg.norm(Ws, 2)), jnp.float32)
    positions = jax.random.uniform(k_u, (n_chains, n), minval=0.05, maxval=0.95)
    if len(jax.devices()) > 1 and n_chains % len(jax.devices()) == 0:
        # Chains sharded over all devices (as MaxEntDual(devices=None) does);
        # jit propagates the layout through every runner.
        mesh = jax.sharding.Mesh(np.array(jax.devices()), ("chains",))
        sharding = jax.sharding.NamedSharding(
            mesh, jax.sharding.PartitionSpec("chains")
        )
        positions = jax.device_put(positions, sharding)
    n_steps = max(2, int(WORK / (n_chains * n * n * N_LEAPFROG)))
    n_steps = min(n_steps, 200)
    evals = n_chains * n_steps * N_LEAPFROG
    key = jax.random.key(1)
    calls = {
        "skmaxent": partial(run_skmaxent, key, positions, W, b, n_steps=n_steps),
        "blackjax": partial(run_blackjax, key, positions, W, b, n_steps=n_steps),
        "ceiling": partial(run_ceiling, key, positions, M, b, n_steps=n_steps),
    }
    rows = time_in_turns(calls, repeats)
    for row in rows.values():
        row["acceptance"] = float(row.pop("result")[1])
        row["evals_per_s"] = evals / row["seconds"]
    return {"n": n, "n_chains": n_chains, "n_steps": n_steps, "runners": rows}


def print_row(result):
    r = result["runners"]
    sk, bj, ceil = (r[k]["evals_per_s"] for k in ("skmaxent", "blackjax", "ceiling"))
    print(
        f"{result['n']:>5} {result['n_chains']:>6} {result['n_steps']:>6} "
        f"{sk:>12.3e} {bj:>12.3e} {ceil:>12.3e} "
        f"{sk / bj:>8.2f} {sk / ceil:>8.2f} "
        f"{r['skmaxent']['acceptance']:>6.2f} {r['blackjax']['acceptance']:>6.2f}",
        flush=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="sweep n and C")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    info = system_info()
    print(
        f"jax {info['jax']} on {info['device']} ({info['cpu_count']} CPUs), "
        f"git {info['git'][:10]}; {len(jax.devices())} device(s); "
        f"n_leapfrog={N_LEAPFROG}, "
        f"step {STEP_SIZE} (blackjax {BLACKJAX_STEP_SIZE} in logit space)"
    )
    print("evals/s = chains * steps * n_leapfrog / median seconds (after compile)")
    print(
        f"{'n':>5} {'C':>6} {'steps':>6} {'skmaxent':>12} {'blackjax':>12} "
        f"{'ceiling':>12} {'sk/bj':>8} {'sk/ceil':>8} {'acc_sk':>6} {'acc_bj':>6}"
    )
    grid = [(50, 1024)]
    if args.full:
        grid = [(n, c) for n in (10, 50, 200, 1000) for c in (256, 1024)]
    results = []
    for n, c in grid:
        results.append(measure(n, c, repeats=args.repeats))
        print_row(results[-1])
    if args.full:
        path = write_results(
            "sampler",
            {"n_leapfrog": N_LEAPFROG, "step_size": STEP_SIZE, "results": results},
        )
        print(f"wrote {path}")
    main_result = next(r for r in results if (r["n"], r["n_chains"]) == (50, 1024))
    rows = main_result["runners"]
    ratio = rows["skmaxent"]["evals_per_s"] / rows["blackjax"]["evals_per_s"]
    print(f"ratio skmaxent/blackjax: {ratio:.2f}")


if __name__ == "__main__":
    main()
