"""Parallel cross-validation: GridSearchCV with n_jobs=1 against n_jobs=2.

The issue's case: ``GridSearchCV(MaxEntDual(...), {"alpha": 4 values},
cv=4)`` on 300 x 3 data, timed in fresh processes (each compiles what it
needs, as a user's first search would):

- ``n_jobs=1``;
- ``n_jobs=2`` with joblib's default process backend (loky): each worker
  process compiles every program again;
- ``n_jobs=2`` inside ``joblib.parallel_config(backend="threading")``: the
  workers are threads of one process and share its compiled programs (JAX
  releases the GIL while a compiled program runs).

Each configuration runs ``--draws`` times on different data draws; the
printed ratio is against ``n_jobs=1`` on the same draw, and the script
checks that every ``cv_results_`` score equals the serial one.

Run: ``python benchmarks/parallel_cv.py [--draws 2]``.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import system_info, write_results  # noqa: E402

CHILD = r"""
import json, sys, time, warnings
import joblib
import numpy as np
from sklearn.model_selection import GridSearchCV, KFold
from skmaxent import MaxEntDual

seed, n_jobs, backend = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = np.random.default_rng(seed)
A = rng.normal(size=(3, 3))
X = rng.multivariate_normal(np.zeros(3), A @ A.T / 3 + np.eye(3), size=300)
search = GridSearchCV(
    MaxEntDual(random_state=0),
    {"alpha": [0.0, 1e-4, 1e-3, 1e-2]},
    cv=KFold(4, shuffle=True, random_state=0),
    n_jobs=n_jobs,
)
start = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    if backend == "threading":
        with joblib.parallel_config(backend="threading"):
            search.fit(X)
    else:
        search.fit(X)
seconds = time.perf_counter() - start
scores = [search.cv_results_[f"split{k}_test_score"].tolist() for k in range(4)]
print(json.dumps({"seconds": seconds, "scores": scores}))
"""

CONFIGS = [("n_jobs=1", 1, "default"), ("n_jobs=2", 2, "default")]
CONFIGS += [("n_jobs=2 threads", 2, "threading")]


def run(seed, n_jobs, backend):
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(seed), str(n_jobs), backend],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=2)
    args = parser.parse_args()
    rows = []
    print(f"{'draw':>4} {'configuration':<18} {'seconds':>8} {'ratio':>6} same scores")
    for seed in range(args.draws):
        serial = None
        for label, n_jobs, backend in CONFIGS:
            r = run(seed, n_jobs, backend)
            serial = serial or r
            same = r["scores"] == serial["scores"]
            ratio = r["seconds"] / serial["seconds"]
            rows.append(dict(draw=seed, config=label, **r, ratio=ratio, same=same))
            print(
                f"{seed:>4} {label:<18} {r['seconds']:>8.2f} {ratio:>6.2f} {same}",
                flush=True,
            )
    path = write_results("parallel_cv", {"system": system_info(), "rows": rows})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
