"""Fits to Overhauser-field decays [Gong11, Fig. 4 and Sec. 3], through :func:`jaxspin.fit`.

* :func:`fit_effective_diffusion`: the constant ``D_eff`` whose diffusion (same disk, same
  initial profile, same ``A_k`` weights) best reproduces a decay curve (Fig. 4). The model
  is exact in ``D``: one Lanczos run of the unit-``D`` operator gives its Ritz values
  ``θ_n`` and weights ``w_n``, and ``h(t; D) = Σ_n w_n exp(D θ_n t)``.
* :func:`fit_dot`: any fields of :class:`QuantumDot` (default ``A0_neV`` and ``l0_nm``) from a
  decay curve through the full model (diffusion map, Eq. (25), Krylov propagation),
  gradients end to end; Gauss-Newton error bars.
"""

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._fit import FitResult, fit
from .._transform import Positive
from ._couplings import QuantumDot
from ._decay import _check_times, default_neighbourhood, overhauser_decay, overhauser_vectors
from ._krylov import AbstractPropagator, Krylov, _count, lanczos
from ._lattice import Neighbourhood
from ._pde import Boundary, DiskGrid, diffusion_operator


class ConstantDiffusion(eqx.Module):
    """A constant diffusion coefficient ``D_nm2_s`` [nm²/s] (the parameter of
    :func:`fit_effective_diffusion`)."""

    D_nm2_s: Float[Array, ""]


class SpectralDecay(eqx.Module):
    """``h(t; D) = Σ_n weights_n exp(D ritz_n t)`` [rad/s] for the constant-``D`` problem
    (exact in ``D`` for the Lanczos quadrature of the unit-``D`` operator): ``ritz``
    [1/nm²] (eigenvalues of that operator, ``<= 0``), ``weights`` [rad/s]. ``__call__(params,
    ts)`` (a :class:`ConstantDiffusion`, times [s]) is a :func:`jaxspin.fit` model."""

    ritz: Float[Array, " m"]
    weights: Float[Array, " m"]

    def __call__(self, params: ConstantDiffusion, ts: Float[Array, " T"]) -> Float[Array, " T"]:
        return jnp.exp(params.D_nm2_s * ts[:, None] * self.ritz[None, :]) @ self.weights


def constant_diffusion_model(
    dot: QuantumDot,
    *,
    nb: Neighbourhood | None = None,
    grid: DiskGrid = DiskGrid(),
    r0_nm: Float[ArrayLike, ""] | None = None,
    iz0: float = 1.0,
    boundary: Boundary = "dirichlet",
    num_steps: int = 512,
) -> SpectralDecay:
    """The decay ``h_z(t; D)`` [rad/s] of Eq. (25) with a constant ``D`` on ``grid``, with the
    initial profile and ``A_k`` of ``dot`` (as in :func:`overhauser_decay`; checked as
    there; ``num_steps`` an int >= 1)."""
    nb = default_neighbourhood() if nb is None else nb
    num_steps = _count(num_steps, "num_steps")
    u, v = overhauser_vectors(dot, nb, grid, r0_nm=r0_nm, iz0=iz0)
    op = diffusion_operator(grid, jnp.ones((), u.dtype), form="divergence", boundary=boundary)
    T, c, beta0 = lanczos(op, v, u, min(num_steps, grid.num_active))
    theta, Y = jnp.linalg.eigh(T)
    return SpectralDecay(theta, beta0 * (Y.T @ c) * Y[0])


def fit_effective_diffusion(
    ts: Float[ArrayLike, " T"],
    hz: Float[ArrayLike, " T"],
    dot: QuantumDot,
    *,
    D0: float = 1.0,
    sigma: Float[ArrayLike, "..."] | None = None,
    nb: Neighbourhood | None = None,
    grid: DiskGrid = DiskGrid(),
    r0_nm: Float[ArrayLike, ""] | None = None,
    iz0: float = 1.0,
    boundary: Boundary = "dirichlet",
    num_steps: int = 512,
    **fit_kwargs,
) -> FitResult:
    """Fit a constant ``D_eff`` [nm²/s] to the decay ``hz`` [rad/s] at ``ts`` [s] [Gong11,
    Fig. 4] by gradient-based least squares (:func:`jaxspin.fit`, L-BFGS, ``D > 0``).

    ``dot`` supplies the weights ``A_k`` and the initial profile (``r0 = l0`` unless given);
    ``hz`` is typically :func:`overhauser_decay` of the same ``dot``. Returns the
    :class:`jaxspin.FitResult` (``result.params.D_nm2_s``, ``result.stderr.D_nm2_s``).

    ```python
    ts = jnp.linspace(0.0, 1e4, 60)
    hz = overhauser_decay(QuantumDot(B0_T=2.0), ts)
    D_eff = fit_effective_diffusion(ts, hz, QuantumDot(B0_T=2.0)).params.D_nm2_s
    ```

    ``ts`` is checked as in :func:`overhauser_decay` (1-D, non-empty, finite, >= 0 [s]);
    ``D0 > 0``; the data, ``sigma`` and the options by :func:`jaxspin.fit`.
    """
    ts = _check_times(ts)
    if not 0 < float(D0) < float("inf"):
        raise ValueError(f"`D0` must be finite and > 0 [nm^2/s]; got {D0!r}.")
    model = constant_diffusion_model(
        dot,
        nb=nb,
        grid=grid,
        r0_nm=r0_nm,
        iz0=iz0,
        boundary=boundary,
        num_steps=num_steps,
    )
    return fit(
        model,
        ConstantDiffusion(jnp.asarray(D0, dtype=float)),
        jnp.asarray(ts),
        jnp.asarray(hz),
        sigma=sigma,
        transforms=ConstantDiffusion(Positive()),  # pyright: ignore[reportArgumentType]
        **fit_kwargs,
    )


def fit_dot(
    ts: Float[ArrayLike, " T"],
    hz: Float[ArrayLike, " T"],
    dot0: QuantumDot,
    *,
    free: Sequence[str] = ("A0_neV", "l0_nm"),
    sigma: Float[ArrayLike, "..."] | None = None,
    nb: Neighbourhood | None = None,
    grid: DiskGrid = DiskGrid(),
    r0_nm: Float[ArrayLike, ""] | None = None,
    iz0: float = 1.0,
    solver: AbstractPropagator = Krylov(),
    **fit_kwargs,
) -> FitResult:
    """Fit the fields ``free`` of a :class:`QuantumDot` (all positive) to a decay curve
    ``hz`` [rad/s] at ``ts`` [s] through :func:`overhauser_decay` (tensor reading).

    The model is differentiated end to end (diffusion map, operator, Lanczos, spectral
    formula); the error bars are the Gauss-Newton ones (``hessian=False``: the second
    derivative of an eigen-decomposition is ill-conditioned at nearly equal Ritz values).

    ```python
    res = fit_dot(ts, noisy, QuantumDot(A0_neV=0.7, l0_nm=25.0), sigma=noise)
    print(res.summary())
    ```

    ``ts`` is checked as in :func:`overhauser_decay`; ``free`` must name numeric fields.
    """
    nb = default_neighbourhood() if nb is None else nb
    ts = _check_times(ts)
    names = tuple(free)
    for name in names:
        if not isinstance(getattr(dot0, name, None), jax.Array):
            raise ValueError(f"`free` names a field QuantumDot does not fit: {name!r}.")
    mask = jax.tree_util.tree_map(lambda _: False, dot0)
    mask = eqx.tree_at(lambda d: [getattr(d, n) for n in names], mask, [True] * len(names))
    transforms = jax.tree_util.tree_map(lambda _: None, dot0)
    transforms = eqx.tree_at(
        lambda d: [getattr(d, n) for n in names],
        transforms,
        [Positive() for _ in names],
        is_leaf=lambda x: x is None,
    )

    def model(dot, t):
        return overhauser_decay(
            dot, t, nb=nb, grid=grid, r0_nm=r0_nm, iz0=iz0, form="tensor", solver=solver
        )

    fit_kwargs.setdefault("hessian", False)
    return fit(
        model,
        dot0,
        jnp.asarray(ts),
        jnp.asarray(hz),
        sigma=sigma,
        free=mask,
        transforms=transforms,
        **fit_kwargs,
    )
