"""The host loop of MomentMatchingEBM: chunks, convergence rule, learning rate.

Between jitted chunks of :func:`skmaxent.core.train_smm.run_chunk` the host
records the history, checks divergence and the convergence rule, and stops
after the averaging iterations. Apart from ``_smm.py`` so that each module
keeps to one concept.
"""

import numpy as np

from skmaxent._base import N_AVERAGE, _error_quantile, gradient_statistic
from skmaxent.core import train_smm


def run(est, state, hyper, fm, energy, config, penalised, verify=False):
    """Host loop over chunks: learn until the convergence rule holds, then average.

    See ``tol`` for the rule: on the latest chunk, ``max_k (|e_k| - z SE_k)
    < tol`` on the moment residual, or on the gradient of ``J`` when
    ``penalised``. With ``verify`` (a score-matching start, unpenalised) the
    first chunk runs the chains at the fixed start; if the rule holds there,
    that start is the fit.
    """
    names = ("moment_error", "smm_loss", "acceptance", "step_size", "phase")
    pieces = {name: [] for name in names}
    converged, averaged, error = False, 0, np.inf
    gradients = []
    bar = None
    if est.verbose > 0:
        from tqdm.auto import tqdm

        bar = tqdm(total=est.max_iter, desc=type(est).__name__)
    done = int(state.iteration)
    limit = done + est.max_iter
    hyper = hyper._replace(max_iter=np.int32(limit))
    fixed = hyper._replace(learn=np.asarray(False))
    while done < limit:
        phase = "verify" if verify else ("average" if converged else "learn")
        state, info = train_smm.run_chunk(
            state, fixed if verify else hyper, fm, energy, config
        )
        new_done = int(state.iteration)
        k, done = new_done - done, new_done
        for name in names[:-1]:
            pieces[name].append(np.asarray(getattr(info, name))[:k])
        pieces["phase"].append(np.full(k, phase))
        if not bool(info.finite):
            res = np.nan_to_num(np.asarray(info.residual), nan=np.inf)
            worst = int(np.argmax(np.abs(res)))
            raise RuntimeError(
                f"The fit diverged at iteration {done}: non-finite parameters "
                f"or chains (largest residual on feature {worst} "
                f"'{fm.names[worst]}'). Try a smaller learning_rate or alpha > 0."
            )
        if penalised:
            stat = gradient_statistic(gradients, np.asarray(info.gradient))
        else:
            g, se = np.asarray(info.residual), np.asarray(info.residual_se)
            stat = float(np.max(np.abs(g) - _error_quantile(g.size) * se))
        error = float(np.max(np.abs(np.asarray(info.residual))))
        if bar is not None:
            bar.update(k)
            bar.set_postfix(moment_error=f"{error:.2g}", phase=phase)
        if verify:
            verify = False
            if stat < est.tol:
                converged = True
                break
            continue
        if converged:
            averaged += k
            if averaged >= N_AVERAGE:
                break
        elif stat < est.tol:
            converged = True
            hyper = hyper._replace(adapt=np.asarray(False), average=np.asarray(True))
    if bar is not None:
        bar.close()
    history = {name: np.concatenate(v) for name, v in pieces.items()}
    return state, history, converged, error
