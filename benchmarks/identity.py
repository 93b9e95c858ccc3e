"""Results unchanged across a refactor: ``coef_``, ``log_partition_``, ``n_iter_``.

Fits, with ``random_state=0``, the two models of ``examples/quickstart.py``
(the elicitation and the wine density), every default problem of
``benchmarks/fit.py`` (wide 5, 20, 100; truncated 5, 20; zero 20, 100, 200)
and of ``benchmarks/init.py`` (both draws, ``init="zero"`` and ``"auto"``),
and two fits each of ``MomentMatchingEBM`` and ``MaxLikelihoodEBM`` (a
linear energy and an MLP, the latter with early stopping) on the wine
columns, and records for each the fitted ``coef_``, ``log_partition_``,
``log_partition_std_`` and ``n_iter_``.

Two modes:

* ``python benchmarks/identity.py --out FILE`` fits with the installed code
  (the checkout this script runs from) and writes the record as JSON;
* ``python benchmarks/identity.py --compare OLD NEW`` runs the first mode in a
  ``git worktree`` of each commit (the same interpreter and packages) and
  prints, per problem, whether the three results are bitwise identical, and
  where not, the largest coefficient difference and the ``log Z`` difference
  in units of its reported standard error (the Monte Carlo error of the two
  fits).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def problems(bench=HERE):
    """``{name: (estimator kwargs, fit kwargs)}`` of every compared fit, with
    the problem generators of the ``benchmarks`` folder ``bench``."""
    sys.path.insert(0, str(bench))
    import fit as fit_bench
    import init as init_bench
    from sklearn.datasets import load_wine
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    from skmaxent.features import Indicator, Moment, Product

    out = {}
    features = [Moment(0), Moment(1), Moment(2), Moment(0, 2), Moment(1, 2)]
    features += [Product(0, 1), Indicator(2, 0.5, 1.0)]
    moments = [150.0, 12.0, 0.35, 80.0**2 + 150.0**2, 6.0**2 + 12.0**2]
    moments += [150.0 * 12.0 + 0.5 * 80.0 * 6.0, 0.2]
    bounds = [[0.0, 500.0], [1.0, 36.0], [0.0, 1.0]]
    out["quickstart-elicitation"] = (
        dict(features=features, bounds=bounds),
        dict(moments=moments),
    )
    X = StandardScaler().fit_transform(load_wine().data[:, [0, 6, 9]])
    lo, hi = X.min(axis=0), X.max(axis=0)
    wbounds = np.c_[lo - 0.25 * (hi - lo), hi + 0.25 * (hi - lo)]
    X_train, _ = train_test_split(X, test_size=0.3, random_state=0)
    out["quickstart-wine"] = (
        dict(features="quadratic", bounds=wbounds),
        dict(X=X_train),
    )
    for case, sizes in (("wide", (5, 20, 100)), ("truncated", (5, 20))):
        for n in sizes:
            kw = dict(sd=0.5, truncated=True) if case == "truncated" else {}
            mu, _, b = fit_bench.problem(n, **kw)
            out[f"fit-{case}-{n}"] = (dict(bounds=b, init="auto"), dict(moments=mu))
    for n in (20, 100, 200):
        mu, _, b = fit_bench.problem(n)
        out[f"fit-zero-{n}"] = (dict(bounds=b, init="zero"), dict(moments=mu))
    from skmaxent import MaxLikelihoodEBM, MomentMatchingEBM
    from skmaxent.energies import MLP

    small = dict(n_chains=128, max_iter=300)
    mlp = MLP(hidden=(8,), bounds=None)
    out["smm-linear"] = (
        dict(estimator=MomentMatchingEBM, features="quadratic", bounds=wbounds),
        dict(X=X_train),
    )
    out["smm-mlp"] = (
        dict(estimator=MomentMatchingEBM, energy_model=mlp, bounds=wbounds, **small),
        dict(X=X_train),
    )
    out["mle-linear"] = (
        dict(estimator=MaxLikelihoodEBM, bounds=wbounds, **small),
        dict(X=X_train),
    )
    early = dict(early_stopping=True, energy_model=mlp, **small)
    out["mle-mlp-early"] = (
        dict(estimator=MaxLikelihoodEBM, bounds=wbounds, **early),
        dict(X=X_train),
    )
    for draw, (seed, ridge) in init_bench.DRAWS.items():
        X, b = init_bench.data(20, 5000, seed, ridge)
        for init in ("zero", "auto"):
            out[f"init-{draw}-{init}"] = (dict(bounds=b, init=init), dict(X=X))
    return out


def record(only=None, bench=HERE):
    import jax

    import skmaxent
    from skmaxent import MaxEntDual

    print(f"skmaxent from {Path(skmaxent.__file__).parent}")
    rows = {}
    for name, (est_kw, fit_kw) in problems(bench).items():
        if only and not any(s in name for s in only):
            continue
        est_kw = dict(est_kw)
        model = est_kw.pop("estimator", MaxEntDual)(random_state=0, **est_kw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(**fit_kw)
        coef = getattr(model, "coef_", None)
        if coef is None:  # a neural energy: its flattened parameters
            coef = np.concatenate([np.ravel(a) for a in jax.tree.leaves(model.params_)])
        rows[name] = {
            "coef": np.asarray(coef).tolist(),
            "log_partition": float(model.log_partition_),
            "log_partition_std": float(model.log_partition_std_),
            "n_iter": int(model.n_iter_),
        }
        print(f"{name}: n_iter {model.n_iter_}, log Z {model.log_partition_:.6f}")
    return rows


def run_commit(commit, only, workdir):
    """The record of ``commit``, fitted in a worktree of it."""
    tree = Path(workdir) / commit
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(tree), commit],
        cwd=HERE.parent,
        check=True,
        capture_output=True,
    )
    out = Path(workdir) / f"{commit}.json"
    env = dict(os.environ, PYTHONPATH=str(tree))
    cmd = [sys.executable, str(HERE / "identity.py"), "--out", str(out)]
    cmd += ["--bench", str(tree / "benchmarks")]
    cmd += ["--only", *only] if only else []
    try:
        subprocess.run(cmd, cwd=tree, env=env, check=True)
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(tree)], cwd=HERE.parent
        )
    return json.loads(out.read_text())


def compare(old, new):
    print(
        f"{'problem':<26} {'identical':>9} {'n_iter':>11} "
        f"{'max |dcoef|':>12} {'dlogZ / se':>10}"
    )
    same = 0
    for name in old:
        a, b = old[name], new.get(name)
        if b is None:
            print(f"{name:<26} {'missing':>9}")
            continue
        ident = a == b
        same += ident
        dcoef = np.max(np.abs(np.subtract(a["coef"], b["coef"])))
        se = np.hypot(a["log_partition_std"], b["log_partition_std"])
        dz = (b["log_partition"] - a["log_partition"]) / se
        iters = f"{a['n_iter']}/{b['n_iter']}"
        print(f"{name:<26} {str(ident):>9} {iters:>11} {dcoef:12.3g} {dz:10.2f}")
    print(f"{same} of {len(old)} problems bitwise identical")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write this checkout's record here")
    parser.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"))
    parser.add_argument("--records", nargs=2, metavar=("OLD.json", "NEW.json"))
    parser.add_argument("--only", nargs="*", help="substrings of problem names")
    parser.add_argument("--bench", default=str(HERE), help="benchmarks folder")
    args = parser.parse_args()
    if args.out:
        Path(args.out).write_text(json.dumps(record(args.only, args.bench)))
    elif args.records:
        compare(*(json.loads(Path(p).read_text()) for p in args.records))
    elif args.compare:
        with tempfile.TemporaryDirectory() as workdir:
            old, new = (run_commit(c, args.only, workdir) for c in args.compare)
        compare(old, new)
    else:
        parser.error("give --out, --records or --compare")


if __name__ == "__main__":
    main()
