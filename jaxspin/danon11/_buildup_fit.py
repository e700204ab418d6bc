"""Recover model parameters (e.g. the hyperfine coupling A and the rate Γ) from a measured
nuclear polarisation build-up curve, with error bars.

The forward model is :func:`jaxspin.danon11.build_up` (the feedback ODE of Eq. (12) with the
numerical χ and R); the fit is :func:`jaxspin.fit` (gradient-based least squares, gradients
through the ODE solver and the implicit steady-state/response solves). The parameters are
the fields of the dot model itself, so any subset of them can be fitted.
"""

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._fit import FitResult, fit
from .._inputs import concretely
from .._transform import Positive
from ._feedback import _check_times, build_up
from ._model import AbstractDotModel, float_fields


def build_up_curve(
    model: AbstractDotModel,
    ts: Float[ArrayLike, " T"],
    b_ext: Float[ArrayLike, ""],
    k0: Float[ArrayLike, ""] = 0.0,
    *,
    rtol: float = 1e-10,
    atol: float = 1e-13,
) -> Float[Array, " T"]:
    """``⟨K_z⟩(ts)`` from ``k0`` at ``ts[0]`` at fixed ``B_ext`` (the fit's forward model)."""
    return build_up(model, b_ext, ts, k0, rtol=rtol, atol=atol).ys


def _curve(params: AbstractDotModel, x) -> Float[Array, " T"]:
    # One module-level function (not a closure per call), so that repeated fits re-use
    # jaxspin.fit's compilation.
    ts, b_ext, k0 = x
    return build_up_curve(params, ts, b_ext, k0)


def fit_build_up(
    model0: AbstractDotModel,
    ts: Float[ArrayLike, " T"],
    k_z: Float[ArrayLike, " T"],
    *,
    b_ext: Float[ArrayLike, ""],
    k0: Float[ArrayLike, ""] = 0.0,
    sigma: Float[ArrayLike, "..."] | None = None,
    fields: Sequence[str] = ("coupling", "gamma"),
    max_steps: int = 200,
    rtol: float = 1e-8,
    throw: bool = True,
) -> FitResult:
    """Fit the named positive ``fields`` of ``model0`` to a build-up curve ``k_z(ts)``.

    - ``model0``: a :class:`SingleDot`/:class:`DoubleDot` with the known parameters and
      initial guesses for the fitted ones.
    - ``ts``: measurement times (inverse of the model's frequency unit), ``k_z``: measured
      ``⟨K_z⟩`` (e.g. Overhauser shift / A), ``sigma``: its standard deviation (``None``:
      estimated from the residuals).
    - ``b_ext``, ``k0``: the applied field and the initial polarisation (known).
    - ``fields``: names of the fitted fields (default ``("coupling", "gamma")``: ``A`` and
      ``Γ`` of :class:`DoubleDot`), each kept positive (``jaxspin.Positive``).

    Checks (``ValueError``): ``fields`` non-empty, distinct, scalar float fields with a
    positive initial value; ``ts``, ``k_z`` 1-D of one length; ``ts``, ``k0``, ``b_ext`` as
    in :func:`build_up`; the data and ``sigma`` as in :func:`jaxspin.fit` (finite,
    ``sigma > 0``). ``throw=False``: a failed fit returns its result code (see
    :func:`jaxspin.fit`).

    Returns :class:`jaxspin.FitResult`: ``params`` is the fitted model, ``stderr`` a model of
    error bars. Covariance from the Gauss-Newton matrix ``JᵀJ`` (``hessian=False``: the ODE
    solver's checkpointed adjoint is reverse-mode only).

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxspin.danon11 import DoubleDot, build_up_curve, fit_build_up
        >>> truth = DoubleDot(5.0, 0.3, 1.0, coupling=10.0, num_nuclei=10.0)
        >>> ts = jnp.linspace(0.0, 3000.0, 40)
        >>> data = build_up_curve(truth, ts, 8.0)
        >>> guess = DoubleDot(5.0, 0.3, 1.3, coupling=8.0, num_nuclei=10.0)
        >>> res = fit_build_up(guess, ts, data, b_ext=8.0, sigma=1e-3)
    """
    if not isinstance(model0, AbstractDotModel):
        raise TypeError(f"`model0` must be a danon11 dot model; got {type(model0).__name__}.")
    model0 = float_fields(model0)  # a Python-number field would be static under jit
    if isinstance(fields, str):
        raise ValueError(f"`fields` must be a sequence of field names, not the string {fields!r}.")
    fields = tuple(fields)
    if not fields:
        raise ValueError("`fields` is empty: name at least one field to fit.")
    if len(set(fields)) != len(fields):
        raise ValueError(f"`fields` names a field twice: {fields}.")
    for name in fields:
        value = getattr(model0, name, None)
        if not eqx.is_inexact_array(value) or jnp.ndim(value) != 0:
            raise ValueError(
                f"`fields`: {name!r} is not a scalar parameter of {type(model0).__name__}."
            )
        if concretely(value, lambda v: ~(v > 0)):
            raise ValueError(
                f"`fields`: {name!r} starts at {float(value)!r}; fitted fields are kept "
                "positive (jaxspin.Positive), so the initial value must be > 0."
            )
    n_ts, n_k = jnp.shape(ts), jnp.shape(k_z)
    if len(n_ts) != 1 or n_ts != n_k or n_ts[0] < 1:
        raise ValueError(
            f"`ts` and `k_z` must be non-empty 1-D arrays of one length; got shapes {n_ts} "
            f"and {n_k}."
        )
    where = lambda m: tuple(getattr(m, name) for name in fields)
    free = eqx.tree_at(where, jax.tree.map(lambda _: False, model0), (True,) * len(fields))
    transforms = jax.tree.map(lambda _: None, model0)
    transforms = eqx.tree_at(
        where, transforms, (Positive(),) * len(fields), is_leaf=lambda x: x is None
    )

    dtype = model0.coupling.dtype
    k0, b_ext, _ = model0._check_point(k0, b_ext, "b_ext", k_name="k0")
    x = (_check_times(ts, dtype), b_ext, k0)
    return fit(
        _curve,
        model0,
        x,
        jnp.asarray(k_z),
        sigma=sigma,
        free=free,
        transforms=transforms,
        hessian=False,
        max_steps=max_steps,
        rtol=rtol,
        throw=throw,
    )
