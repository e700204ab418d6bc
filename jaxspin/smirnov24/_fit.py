r"""Fitting ``τc/T2e*``, ``B_L`` and ``<S_z>`` to nuclear polarization vs field [Smirnov24].

The model is the nuclear spin polarization of Eq. (1) with ``β`` from Eq. (6),

    y(B) = 3<I_z>/(4I(I+1)) = <S_z> B²/(B² + Φ B_L²/K),

(the polarization ``<I_z>`` in units of its value ``4I(I+1)/3`` for a fully polarised
electron) with ``Δ_B`` (from ``T2e*`` and ``g_e``) and ``N_I`` known. Its derivatives are
exact (JAX through the engine's quadrature), and the error bars are the inverse Hessian of
``chi2/2`` (:func:`jaxspin.fit`).
"""

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._fit import fit
from .._inputs import check_finite
from .._transform import Identity, Positive
from ._params import Parameters
from ._temperature import nuclear_polarization


FREE_FIELDS = ("tau_c", "b_local", "s_z")


def polarization_model(params: Parameters, field: ArrayLike) -> Float[Array, "..."]:
    """``<S_z> B²/(B² + Φ B_L²/K)``: the model of :func:`fit_polarization` (broadcasts)."""
    return params.s_z * nuclear_polarization(params, field)


_ORDER = ("tau_c", "b_local", "delta_b", "n_i", "s_z", "mean_overhauser")
_POSITIVE = ("tau_c", "b_local", "delta_b", "n_i")


def fit_polarization(
    field: ArrayLike,
    polarization: ArrayLike,
    params0: Parameters,
    *,
    sigma: ArrayLike | None = None,
    free: tuple[str, ...] = FREE_FIELDS,
    max_steps: int = 500,
    throw: bool = True,
):
    r"""Weighted least-squares fit of :func:`polarization_model` to data.

    **Arguments:**

    - ``field``: fields of the data points (the unit of ``params0``), shape ``(n,)``.
    - ``polarization``: measured ``3<I_z>/(4I(I+1))``, shape ``(n,)``.
    - ``params0``: starting :class:`Parameters` (scalars); ``delta_b``, ``n_i`` (and every
      field not in ``free``) are held fixed.
    - ``sigma``: noise standard deviation per point (scalar or ``(n,)``); ``None``
      estimates one common value from the residuals.
    - ``free``: names of the fitted fields; ``tau_c`` and ``b_local`` are fitted in
      log-coordinates (``Positive``), the rest unconstrained.

    Checks (``ValueError``): ``free`` a non-empty tuple of known names, ``params0``
    scalars, ``field``/``polarization`` non-empty 1-D of one length, ``field`` finite; the
    data and ``sigma`` as in :func:`jaxspin.fit` (finite, ``sigma > 0``). ``throw=False``:
    a failed fit returns its result code (:func:`jaxspin.fit`).

    **Returns:** :class:`jaxspin.FitResult` (``params``, ``stderr`` as ``Parameters``;
    ``summary()``).
    """
    if not isinstance(params0, Parameters):
        raise TypeError("`params0` must be a smirnov24.Parameters.")
    if isinstance(free, str):
        raise ValueError(f"`free` must be a tuple of field names, not the string {free!r}.")
    free = tuple(free)
    if not free:
        raise ValueError("`free` is empty: name at least one parameter to fit.")
    for name in free:
        if name not in _ORDER:
            raise ValueError(f"`free` names an unknown parameter {name!r}.")
    if any(jnp.ndim(leaf) != 0 for leaf in jax.tree.leaves(params0)):
        raise ValueError("`params0` must hold scalars (one parameter set).")
    field = jnp.asarray(field, dtype=float)
    polarization = jnp.asarray(polarization, dtype=float)
    if field.ndim != 1 or field.shape != polarization.shape or field.size == 0:
        raise ValueError(
            f"`field` and `polarization` must be non-empty, 1-D and of equal length; got "
            f"{field.shape} and {polarization.shape}."
        )
    field = check_finite(field, "field")
    treedef = jax.tree.structure(params0)
    free_mask = jax.tree.unflatten(treedef, [n in free for n in _ORDER])
    transforms = jax.tree.unflatten(
        treedef, [Positive() if n in _POSITIVE else Identity() for n in _ORDER]
    )
    return fit(
        polarization_model,
        params0,
        field,
        polarization,
        sigma=sigma,
        free=free_mask,
        transforms=transforms,
        max_steps=max_steps,
        throw=throw,
    )
