"""Chains sharded over two forced CPU devices give a model of the same quality.

JAX reads ``XLA_FLAGS`` once, at import, so the two-device fit runs in a
subprocess. The reference is exact: for ``p ∝ exp(θ x)`` on ``[0, 1]`` with
target mean 0.3, ``θ`` solves ``1/(1 - e^-θ) - 1/θ = 0.3`` (scipy's brentq).
"""

import json
import os
import subprocess
import sys
import warnings

import jax
import numpy as np
import pytest
from scipy import optimize

from skmaxent import MaxEntDual, MomentMatchingEBM

MLE_KW = dict(bounds=[[0, 1]], n_chains=256, max_iter=400, random_state=0)
SCRIPT = (
    f"MLE_KW = {MLE_KW!r}\n"
    + """
import json, warnings
warnings.simplefilter("ignore")
import jax
from skmaxent import MaxEntDual, MomentMatchingEBM
from skmaxent.core.training import loop
out = {"n_devices": len(jax.devices()), "sharded": []}
real = loop.run_chunk
def recording(state, *args, **kwargs):
    # Devices holding the chains after each chunk: sharding reaches the loop.
    state, info = real(state, *args, **kwargs)
    out["sharded"].append(len(state.chains.position.sharding.device_set))
    return state, info
loop.run_chunk = recording
for name, est in (("dual", MaxEntDual), ("smm", MomentMatchingEBM)):
    m = est("linear", bounds=[[0, 1]], n_chains=256, random_state=0)
    m.fit(moments=[0.3])
    out[name] = [float(m.coef_[0]), bool(m.converged_)]
import numpy as np
from skmaxent import MaxLikelihoodEBM
from skmaxent.energies import MLP
X = np.random.default_rng(0).beta(2.0, 5.0, size=(500, 1))
m = MaxLikelihoodEBM(energy_model=MLP(hidden=(8,)), **MLE_KW).fit(X)
out["mle"] = float(m.score(X))
try:
    MaxEntDual("linear", bounds=[[0, 1]], n_chains=255, devices=2).fit(moments=[0.3])
except ValueError as e:
    out["error"] = str(e)
try:
    MomentMatchingEBM("linear", bounds=[[0, 1]], n_chains=255, devices=2).fit(
        moments=[0.3]
    )
except ValueError as e:
    out["smm_error"] = str(e)
print(json.dumps(out))
"""
)


def exact_theta(mean):
    def f(t):
        return 1 / (1 - np.exp(-t)) - 1 / t - mean

    return optimize.brentq(f, -50, -1e-6)


def test_two_cpu_devices_same_quality():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    env["PYTHONWARNINGS"] = "ignore"
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["n_devices"] == 2
    assert "multiple of devices=2" in out["error"]
    assert "multiple of devices=2" in out["smm_error"]
    # Both estimators' chains lived on the two devices in every chunk.
    assert out["sharded"] and set(out["sharded"]) == {2}
    theta = exact_theta(0.3)
    one = MaxEntDual("linear", bounds=[[0, 1]], n_chains=256, random_state=0)
    one.fit(moments=[0.3])
    # The Monte Carlo error of coef_ (256 chains, 200 averaged iterations):
    # SE = sqrt(1 / (Var[x] ESS)) with Var[x] = 0.060 under the model and
    # ESS >= 256 * 200 / 10 (conftest's autocorrelation bound), so SE <= 0.057
    # (the spread over seeds is 0.035-0.045 in float32 and in x64); 0.2 is
    # 3.5 standard errors, for the sharded and the single-device fit alike.
    # MomentMatchingEBM's averaged coef_ has the same Monte Carlo error.
    assert out["dual"][1] and out["smm"][1] and one.converged_
    assert abs(out["dual"][0] - theta) < 0.2
    assert abs(out["smm"][0] - theta) < 0.2
    assert abs(one.coef_[0] - theta) < 0.2
    # MaxLikelihoodEBM with an MLP energy (its data minibatch beside the
    # sharded chains): the same mean log-likelihood as on one device, within
    # 0.1 nats (each log_partition_ has a standard error of at most ~0.05,
    # and the two fits differ by the Monte Carlo noise of their chains).
    from skmaxent import MaxLikelihoodEBM
    from skmaxent.energies import MLP

    X = np.random.default_rng(0).beta(2.0, 5.0, size=(500, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a short fit: ConvergenceWarning
        single = MaxLikelihoodEBM(energy_model=MLP(hidden=(8,)), **MLE_KW).fit(X)
    assert abs(out["mle"] - single.score(X)) < 0.1


@pytest.mark.parametrize("estimator", [MaxEntDual, MomentMatchingEBM])
def test_devices_validated_before_fitting(estimator):
    too_many = len(jax.devices()) + 1
    with pytest.raises(ValueError, match="devices="):
        estimator("linear", bounds=[[0, 1]], devices=too_many).fit(moments=[0.3])
