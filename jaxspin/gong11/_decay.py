"""The Overhauser field ``h_z(t) = Σ_k A_k <I^z_k(t)>`` under nuclear spin diffusion
[Gong11, Sec. 3], from the continuum equation Eq. (25) or the lattice equation Eq. (17).

Initial condition ``<I^z_k(0)> = iz0 exp(-r_k²/r0²)`` (``r0 = l0`` after a long DNP pump,
``r0 < l0`` for short pumps, Fig. 5); ``h_z`` in rad/s (``A_k`` as angular frequencies).
In the continuum each cell of area ``h²`` holds ``h² / area_per_site`` nuclei.
"""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._inputs import concretely
from ._couplings import QuantumDot, diffusion_map, hyperfine
from ._krylov import AbstractPropagator, Krylov
from ._lattice import Neighbourhood, SquareLattice, neighbourhood
from ._master import lattice_diffusion
from ._pde import Boundary, DiskGrid, Form, check_grid_fits, diffusion_operator


def _check_times(ts):
    ts = jnp.asarray(ts)
    if ts.ndim != 1:
        raise ValueError(f"`ts` must be 1-D; got shape {ts.shape}.")
    if concretely(ts, lambda t: jnp.any(t < 0) | ~jnp.all(jnp.isfinite(t))):
        raise ValueError("`ts` must be finite and >= 0 (times after the end of the pump).")
    return ts


def default_neighbourhood() -> Neighbourhood:
    """The paper's square lattice (``a0 = 0.563 nm``) with the 1.0-nm cut-off."""
    return neighbourhood(SquareLattice(), 1.0)


def _gaussian(r2, r0):
    return jnp.exp(-r2 / r0**2)


def _xyz(xy):
    return jnp.concatenate([xy, jnp.zeros(xy.shape[:-1] + (1,), xy.dtype)], axis=-1)


def continuum_problem(
    dot: QuantumDot,
    nb: Neighbourhood,
    grid: DiskGrid,
    *,
    r0_nm: Float[ArrayLike, ""] | None = None,
    iz0: float = 1.0,
    form: Form = "tensor",
    boundary: Boundary = "dirichlet",
):
    """``(operator, u, v)`` of Eq. (25) on ``grid``: ``h_z(t) = u^T exp(L t) v`` with ``v``
    the initial ``<I^z>`` of the active cells and ``u`` their summed ``A_k`` [rad/s]."""
    D_fine = diffusion_map(dot, nb, jnp.asarray(grid.fine_points))
    op = diffusion_operator(grid, D_fine, form=form, boundary=boundary)
    u, v = overhauser_vectors(dot, nb, grid, r0_nm=r0_nm, iz0=iz0)
    return op, u, v


def overhauser_vectors(
    dot: QuantumDot,
    nb: Neighbourhood,
    grid: DiskGrid,
    *,
    r0_nm: Float[ArrayLike, ""] | None = None,
    iz0: float = 1.0,
):
    """``(u, v)`` on the active cells: ``u = A(x_c) h²/area_per_site`` [rad/s] and
    ``v = iz0 exp(-r²/r0²)`` (``r0 = l0`` by default)."""
    c = jnp.asarray(grid.centres)
    r0 = dot.l0_nm if r0_nm is None else jnp.asarray(r0_nm)
    nuclei = grid.spacing_nm**2 / nb.lattice.area_per_site
    u = hyperfine(dot, _xyz(c)) * nuclei
    v = iz0 * _gaussian(jnp.sum(c**2, axis=1), r0)
    return u, v


def overhauser_decay(
    dot: QuantumDot,
    ts: Float[ArrayLike, " T"],
    *,
    nb: Neighbourhood | None = None,
    grid: DiskGrid = DiskGrid(),
    r0_nm: Float[ArrayLike, ""] | None = None,
    iz0: float = 1.0,
    form: Form = "tensor",
    boundary: Boundary = "dirichlet",
    solver: AbstractPropagator = Krylov(),
) -> Float[Array, " T"]:
    """``h_z(t) = Σ_k A_k <I^z_k(t)>`` [rad/s] at the times ``ts`` [s] from Eq. (25)
    (one problem; differentiable in every field of ``dot`` and in ``r0_nm``).

    ``nb``: lattice and cut-off (default: the paper's square lattice, 1.0 nm); ``grid``:
    the disk and cell size (default: radius 300 nm, 3-nm cells); ``form``: the reading of
    Eq. (25) (``"tensor"``, validated against the lattice); ``solver``: :class:`Krylov`
    (default), :class:`Eigen` or :class:`ODE`.

    ```python
    ts = jnp.logspace(0, 4, 50)
    hz = overhauser_decay(QuantumDot(B0_T=2.0), ts)
    ```
    """
    nb = default_neighbourhood() if nb is None else nb
    ts = _check_times(ts)
    check_grid_fits(grid)
    return _overhauser_decay(dot, ts, nb, grid, r0_nm, iz0, form, boundary, solver)


@eqx.filter_jit
def _overhauser_decay(dot, ts, nb, grid, r0_nm, iz0, form, boundary, solver):
    op, u, v = continuum_problem(dot, nb, grid, r0_nm=r0_nm, iz0=iz0, form=form, boundary=boundary)
    matvec, left, right = op.symmetric()
    return solver.quadratic_form(matvec, left * u, right * v, ts)


def lattice_decay(
    dot: QuantumDot,
    ts: Float[ArrayLike, " T"],
    *,
    radius_nm: float = 150.0,
    nb: Neighbourhood | None = None,
    r0_nm: Float[ArrayLike, ""] | None = None,
    iz0: float = 1.0,
    boundary: Boundary = "dirichlet",
    solver: AbstractPropagator = Krylov(),
) -> Float[Array, " T"]:
    """``h_z(t)`` [rad/s] from the lattice equation Eq. (17) on every site of a disk of
    radius ``radius_nm`` (the ground truth for :func:`overhauser_decay`)."""
    nb = default_neighbourhood() if nb is None else nb
    ts = _check_times(ts)
    ld = lattice_diffusion(dot, nb, radius_nm, boundary=boundary)
    r0 = dot.l0_nm if r0_nm is None else jnp.asarray(r0_nm)
    u = hyperfine(dot, ld.sites)
    v = iz0 * _gaussian(jnp.sum(ld.sites[:, :2] ** 2, axis=1), r0)
    return _lattice_solve(ld, u, v, ts, solver)


@eqx.filter_jit
def _lattice_solve(ld, u, v, ts, solver):
    return solver.quadratic_form(ld, u, v, ts)
