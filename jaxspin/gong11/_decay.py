"""The Overhauser field ``h_z(t) = Σ_k A_k <I^z_k(t)>`` under nuclear spin diffusion
[Gong11, Sec. 3], from the continuum equation Eq. (25) or the lattice equation Eq. (17).

Initial condition ``<I^z_k(0)> = iz0 exp(-r_k²/r0²)`` (``r0 = l0`` after a long DNP pump,
``r0 < l0`` for short pumps, Fig. 5); ``h_z`` in rad/s (``A_k`` as angular frequencies).
In the continuum each cell of area ``h²`` holds ``h² / area_per_site`` nuclei.
"""

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._checks import jit
from .._inputs import check_value
from ._couplings import QuantumDot, _check_dot, diffusion_map, hyperfine
from ._krylov import AbstractPropagator, Krylov
from ._lattice import Neighbourhood, SquareLattice, _length, neighbourhood
from ._master import lattice_diffusion
from ._pde import Boundary, DiskGrid, Form, _assemble, check_grid_fits


def _check_times(ts):
    """``ts`` [s]: 1-D, non-empty, finite and >= 0 (``ValueError`` now, or ``eqx.error_if``
    when traced)."""
    ts = jnp.asarray(ts)
    if ts.ndim != 1 or ts.shape[0] == 0:
        raise ValueError(f"`ts` must be 1-D and non-empty; got shape {ts.shape}.")
    if not jnp.issubdtype(ts.dtype, jnp.floating):
        ts = ts.astype(jnp.result_type(float))
    return check_value(
        ts,
        lambda t: (t < 0) | ~jnp.isfinite(t),
        "`ts` must be finite and >= 0 (times after the end of the pump) [s].",
    )


def _check_profile(dot, nb, grid, r0_nm, iz0):
    """Shared checks of the continuum entry points; returns ``(r0_nm, iz0)`` (checked)."""
    _check_dot(dot, nb)
    if not isinstance(grid, DiskGrid):
        raise TypeError(f"`grid` must be a DiskGrid; got {type(grid).__name__}.")
    check_grid_fits(grid)
    return _check_initial(r0_nm, iz0)


def _check_initial(r0_nm, iz0):
    if r0_nm is not None:
        r0_nm = check_value(
            jnp.asarray(r0_nm),
            lambda r: ~jnp.isfinite(r) | (r <= 0),
            "`r0_nm` must be finite and > 0 [nm].",
        )
    iz0 = check_value(jnp.asarray(iz0), lambda x: ~jnp.isfinite(x), "`iz0` must be finite.")
    return r0_nm, iz0


def _check_solver(solver, form=None, boundary=None):
    if not isinstance(solver, AbstractPropagator):
        raise TypeError(
            f"`solver` must be a propagator (Krylov(), Eigen() or ODE()); got "
            f"{type(solver).__name__}."
        )
    if form is not None and form not in ("tensor", "divergence", "laplacian"):
        raise ValueError(f"`form` must be 'tensor', 'divergence' or 'laplacian'; got {form!r}.")
    if boundary is not None and boundary not in ("dirichlet", "noflux"):
        raise ValueError(f"`boundary` must be 'dirichlet' or 'noflux'; got {boundary!r}.")


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
    the initial ``<I^z>`` of the active cells and ``u`` their summed ``A_k`` [rad/s].
    Checked as in :func:`overhauser_vectors`, plus ``form`` and ``boundary``."""
    r0_nm, iz0 = _check_profile(dot, nb, grid, r0_nm, iz0)
    _check_solver(Krylov(), form, boundary)
    return _continuum_problem(dot, nb, grid, r0_nm, iz0, form, boundary)


def _continuum_problem(dot, nb, grid, r0_nm, iz0, form, boundary):
    D_fine = diffusion_map(dot, nb, jnp.asarray(grid.fine_points))
    op = _assemble(grid, D_fine, form, boundary)
    u, v = _vectors(dot, nb, grid, r0_nm, iz0)
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
    ``v = iz0 exp(-r²/r0²)`` (``r0 = l0`` by default).

    Checked: ``dot``, ``nb``, ``grid`` types; the grid's memory (``MemoryBudgetError``);
    ``r0_nm`` finite and > 0 [nm], ``iz0`` finite (``ValueError`` now, or ``eqx.error_if``
    when traced)."""
    r0_nm, iz0 = _check_profile(dot, nb, grid, r0_nm, iz0)
    return _vectors(dot, nb, grid, r0_nm, iz0)


def _vectors(dot, nb, grid, r0_nm, iz0):
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

    Checked before anything is computed: ``ts`` 1-D, non-empty, finite and >= 0 [s]
    (non-decreasing for :class:`ODE`); ``r0_nm`` finite and > 0; ``iz0`` finite; the
    types of ``dot``, ``nb``, ``grid``, ``solver``; ``form``, ``boundary``; the grid's
    memory (``MemoryBudgetError``). Values raise ``ValueError`` now, or through
    ``eqx.error_if`` when traced (inside ``jit``/``vmap``); :class:`QuantumDot` checks its
    own fields.
    """
    nb = default_neighbourhood() if nb is None else nb
    ts = _check_times(ts)
    r0_nm, iz0 = _check_profile(dot, nb, grid, r0_nm, iz0)
    _check_solver(solver, form, boundary)
    return _overhauser_decay(dot, ts, nb, grid, r0_nm, iz0, form, boundary, solver)


@jit
def _overhauser_decay(dot, ts, nb, grid, r0_nm, iz0, form, boundary, solver):
    op, u, v = _continuum_problem(dot, nb, grid, r0_nm, iz0, form, boundary)
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
    radius ``radius_nm`` (the ground truth for :func:`overhauser_decay`).

    Checked as :func:`overhauser_decay` (``ts``, ``r0_nm``, ``iz0``, types), plus
    ``radius_nm`` finite and > 0 and the memory of the lattice tables, estimated from the
    disk's area before anything is built (``MemoryBudgetError`` with the number)."""
    nb = default_neighbourhood() if nb is None else nb
    ts = _check_times(ts)
    _check_dot(dot, nb)
    _check_solver(solver, None, boundary)
    radius_nm = _length(radius_nm, "radius_nm")
    r0_nm, iz0 = _check_initial(r0_nm, iz0)
    ld = lattice_diffusion(dot, nb, radius_nm, boundary=boundary)
    r0 = dot.l0_nm if r0_nm is None else jnp.asarray(r0_nm)
    u = hyperfine(dot, ld.sites)
    v = iz0 * _gaussian(jnp.sum(ld.sites[:, :2] ** 2, axis=1), r0)
    return _lattice_solve(ld, u, v, ts, solver)


@jit
def _lattice_solve(ld, u, v, ts, solver):
    return solver.quadratic_form(ld, u, v, ts)
