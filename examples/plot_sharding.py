"""
Sharding the chains over devices
================================

The persistent chains are independent, so ``devices=`` splits them over JAX
devices (a 1-D mesh named ``"chains"``; the parameters are replicated and
the feature means over chains are reduced across devices by XLA). On a
machine with several GPUs or TPU cores, ``devices=None`` (the default) uses
all of them when they divide ``n_chains``; an int asks for exactly that
many.

On a CPU, JAX sees one device, so ``devices=None`` and ``devices=1`` are the
same fit. ``XLA_FLAGS=--xla_force_host_platform_device_count=2`` splits the
CPU into two devices, but only if it is set **before JAX is imported**; this
page's process has already imported JAX, so the two-device fit below runs in
a fresh Python process.
"""

# %%
# One device: ``devices=None`` and ``devices=1``
# ----------------------------------------------
import subprocess
import sys
import textwrap
import time

import jax
import matplotlib.pyplot as plt
import numpy as np

from skmaxent import MaxEntDual
from skmaxent.features import Moment, Product

print("JAX devices in this process:", jax.devices())
features = [Moment(0), Moment(1), Moment(0, 2), Moment(1, 2), Product(0, 1)]
moments = [0.4, 0.6, 0.2, 0.42, 0.26]
bounds = [[0.0, 1.0], [0.0, 1.0]]
fits = {}
for devices in (None, 1):
    model = MaxEntDual(
        features, bounds=bounds, n_chains=512, devices=devices, random_state=0
    )
    fits[f"devices={devices}"] = model.fit(moments=moments).coef_
print("same coef_:", np.array_equal(fits["devices=None"], fits["devices=1"]))

# %%
# Two CPU devices, in a fresh process
# -----------------------------------
# The environment variable must be set before ``import jax``. The sharded
# program is a different program (its random draws and reductions are laid
# out over two devices), so the two fits agree within Monte Carlo error
# rather than bit for bit; the test suite checks that tolerance.
script = textwrap.dedent(
    f"""
    import os
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    import jax
    from skmaxent import MaxEntDual
    from skmaxent.features import Moment, Product
    features = [Moment(0), Moment(1), Moment(0, 2), Moment(1, 2), Product(0, 1)]
    model = MaxEntDual(features, bounds={bounds}, n_chains=512, devices=2,
                       random_state=0).fit(moments={moments})
    print(len(jax.devices()), *model.coef_)
    """
)
out = subprocess.run(
    [sys.executable, "-c", script], capture_output=True, text=True, check=True
).stdout.split()
print(f"devices in the child process: {out[0]}")
fits["devices=2 (child)"] = np.array(out[1:], dtype=float)
for name, coef in fits.items():
    print(f"{name:>18}: coef_ = {np.round(coef, 3)}")

# %%
# What sharding splits
# --------------------
# The cost of a fit grows with ``n_chains``: every iteration moves every
# chain. This is the work that ``devices`` divides. The timings are of one
# device (a warm second fit of each size, compilation excluded).
sizes = [128, 2048]
seconds = []
for n_chains in sizes:
    model = MaxEntDual(features, bounds=bounds, n_chains=n_chains, random_state=0)
    model.fit(moments=moments)  # compiles for this number of chains
    t0 = time.perf_counter()
    model.fit(moments=moments)
    seconds.append(time.perf_counter() - t0)

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
names = list(fits)
width = 0.25
for k, name in enumerate(names):
    left.bar(np.arange(5) + (k - 1) * width, fits[name], width=width, label=name)
left.set_xticks(range(5), ["x0", "x1", "x0^2", "x1^2", "x0*x1"])
left.set_ylabel("coef_")
left.set_title("the same fit on one and on two devices")
left.legend(fontsize="small")
right.plot(sizes, seconds, "o-")
right.set_xscale("log", base=2)
right.set_xlabel("n_chains")
right.set_ylabel("fit time on one CPU device (s)")
right.set_title("the work that devices= splits")
fig.tight_layout()
plt.show()
