"""The saturation fits of [Latta09, Sec. I, Fig. S1c-d], done by :func:`jaxspin.fit`.

Fig. S1c: dragging width vs dwell time for several steps ``Δ``, "saturation fits to each set
of data with a common fitting parameter τ":

    w_k(T) = w_min,k + (w_max,k − w_min,k) (1 − exp(−T/τ))     (one τ for all curves k).

Fig. S1d: the maximum (minimum) width vs step decays (grows) exponentially with the
critical step ``Δω_c``:

    w(Δ) = w_∞ + (w_0 − w_∞) exp(−Δ/Δω_c).

Both are thin calls of the fit layer (shared parameters = one leaf used by every curve).
"""

from collections.abc import Sequence

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._fit import FitResult, fit
from .._transform import Positive


class CommonSaturation(eqx.Module):
    """``τ`` [s] shared by all curves; ``w_min``, ``w_max`` ``(n_curves,)`` [µeV]."""

    tau: Float[Array, ""]
    w_min: Float[Array, " n"]
    w_max: Float[Array, " n"]


def common_saturation_model(params: CommonSaturation, dwells: tuple) -> tuple:
    """The Fig. S1c model for curves sampled at ``dwells`` (a tuple of 1-D arrays [s])."""
    return tuple(
        params.w_min[k] + (params.w_max[k] - params.w_min[k]) * (1 - jnp.exp(-t / params.tau))
        for k, t in enumerate(dwells)
    )


def fit_common_saturation(
    dwells: Sequence[np.ndarray], widths: Sequence[np.ndarray], *, sigma=None, **fit_kwargs
) -> FitResult:
    """Fit Fig. S1c's saturation curves with one common ``τ`` (``jaxspin.fit``; ``τ`` kept
    positive). ``dwells[k]``, ``widths[k]``: the points of curve ``k`` [s, µeV]."""
    if len(dwells) != len(widths) or not dwells:
        raise ValueError("`dwells` and `widths` must be non-empty sequences of equal length.")
    x = tuple(jnp.asarray(t, float) for t in dwells)
    y = tuple(jnp.asarray(w, float) for w in widths)
    for t, w in zip(x, y, strict=True):
        if t.shape != w.shape or t.ndim != 1:
            raise ValueError(f"each curve needs 1-D dwells and widths of one shape; got {t.shape}.")
    t_all = np.concatenate([np.asarray(t) for t in x])
    p0 = CommonSaturation(
        tau=jnp.asarray(float(np.exp(np.mean(np.log(t_all))))),
        w_min=jnp.asarray([float(w[0]) for w in y]),
        w_max=jnp.asarray([float(w[-1]) for w in y]),
    )
    transforms = CommonSaturation(tau=Positive(), w_min=None, w_max=None)
    return fit(common_saturation_model, p0, x, y, sigma=sigma, transforms=transforms, **fit_kwargs)


class CriticalStep(eqx.Module):
    """``w_0``, ``w_inf`` [µeV] and the critical step ``delta_c`` [µeV]."""

    w_0: Float[Array, ""]
    w_inf: Float[Array, ""]
    delta_c: Float[Array, ""]


def critical_step_model(params: CriticalStep, steps: Float[Array, " n"]) -> Float[Array, " n"]:
    """The Fig. S1d model ``w_∞ + (w_0 − w_∞) exp(−Δ/Δω_c)``."""
    return params.w_inf + (params.w_0 - params.w_inf) * jnp.exp(-steps / params.delta_c)


def fit_critical_step(steps: np.ndarray, widths: np.ndarray, **fit_kwargs) -> FitResult:
    """Fit Fig. S1d's exponential decay/growth of the extreme widths with the step size."""
    x = jnp.asarray(steps, float)
    y = jnp.asarray(widths, float)
    if x.ndim != 1 or x.shape != y.shape or x.size < 3:
        raise ValueError(f"need >= 3 steps and widths of one 1-D shape; got {x.shape}, {y.shape}.")
    p0 = CriticalStep(w_0=y[0], w_inf=y[-1], delta_c=jnp.asarray(float(np.median(np.asarray(x)))))
    transforms = CriticalStep(w_0=None, w_inf=None, delta_c=Positive())
    return fit(critical_step_model, p0, x, y, transforms=transforms, **fit_kwargs)
