"""The continuum diffusion equation of [Gong11], Eq. (25), on a disk: finite volumes.

The lattice equation Eq. (17) has symmetric rates, so it conserves ``Σ_k <I^z_k>`` and its
generator is symmetric; its continuum limit for slowly varying rates is the conservative
``∂P/∂t = ∇·(D ∇P)`` with the *tensor* ``D^{αβ}`` of Eq. (23) (the flip-flop rates of a pair
depend on the pair's direction relative to the Knight-shift gradient, so radial and
tangential diffusion differ by up to 10x around the dot). Three readings are offered:

* ``"tensor"``: ``∇·(D ∇P)`` with the full 2x2 tensor of Eq. (23) (the lattice's limit),
* ``"divergence"``: ``∇·(D ∇P)`` with the paper's scalar ``D = (D^xx + D^yy)/2``,
* ``"laplacian"``: the literal ``D ∇²P`` of Eq. (25) (not conservative).

``tests/gong11/test_continuum.py`` solves the lattice equation itself and shows that
``"tensor"`` reproduces it; the figures use it.

Discretisation: a uniform Cartesian grid of cells (spacing ``h``) centred on the dot, the
active cells those with centres inside the disk of radius ``R``. The operator is
``L = -G^T M G / h²``, with ``G`` the two-point differences on cell faces and ``M`` the
diffusion tensor sampled on faces (diagonal part) and cell corners (``D^xy`` times the
corner-averaged gradients). For the tensor the energy of each cell corner is the mean of
``g^T D_c g`` over the four gradients ``g`` made of one adjacent x-face and one adjacent
y-face difference (the face coefficients are then corner averages): ``L`` is symmetric and
negative semidefinite for every positive-semidefinite tensor field, and second-order
accurate. Boundary: ``"dirichlet"`` (``<I^z> = 0`` in the
cells outside the disk: the paper's ``<I^z> → 0`` at the edge) or ``"noflux"`` (faces to
the outside closed: ``Σ P`` conserved exactly). ``D`` is sampled on a half-spacing grid
(cells, faces and corners are its even/odd nodes).
"""

import math
from typing import Literal

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._inputs import check_value
from .._memory import check_fits


Form = Literal["tensor", "divergence", "laplacian"]
Boundary = Literal["dirichlet", "noflux"]


class DiskGrid(eqx.Module):
    """A uniform grid of square cells covering a disk (static geometry, nm).

    Cell centres are ``(i - n) h`` for ``i = 0 .. 2n`` in x and y (the dot centre is a cell
    centre), ``n = ceil(radius / spacing)``; cells with centres strictly inside the disk
    are active.

    ```python
    grid = DiskGrid(radius_nm=300.0, spacing_nm=3.0)   # 31 397 active cells
    ```
    """

    radius_nm: float = eqx.field(static=True, default=300.0)
    spacing_nm: float = eqx.field(static=True, default=3.0)

    def __check_init__(self):
        if not (
            math.isfinite(self.radius_nm)
            and math.isfinite(self.spacing_nm)
            and self.radius_nm > 0
            and self.spacing_nm > 0
        ):
            raise ValueError(
                f"`radius_nm` and `spacing_nm` must be finite and > 0; got {self.radius_nm}, "
                f"{self.spacing_nm}."
            )
        if self.spacing_nm > self.radius_nm / 2:
            raise ValueError(
                f"`spacing_nm` = {self.spacing_nm} is too coarse for `radius_nm` = "
                f"{self.radius_nm}."
            )

    @property
    def n(self) -> int:
        return int(math.ceil(self.radius_nm / self.spacing_nm))

    @property
    def size(self) -> int:
        """Cells per axis, ``2n + 1``."""
        return 2 * self.n + 1

    @property
    def coords(self) -> np.ndarray:
        """Cell-centre coordinates along one axis [nm], ``(size,)``."""
        return (np.arange(self.size) - self.n) * self.spacing_nm

    @property
    def mask(self) -> np.ndarray:
        """Active cells, ``(size, size)`` bool."""
        x = self.coords
        return x[:, None] ** 2 + x[None, :] ** 2 < self.radius_nm**2

    @property
    def active(self) -> np.ndarray:
        """Flat indices of the active cells (row-major, ``(n_active,)``)."""
        return np.flatnonzero(self.mask.ravel())

    @property
    def num_active(self) -> int:
        return int(self.mask.sum())

    @property
    def centres(self) -> np.ndarray:
        """Centres of the active cells [nm], ``(n_active, 2)``."""
        x = self.coords
        X, Y = np.meshgrid(x, x, indexing="ij")
        return np.stack([X.ravel(), Y.ravel()], axis=1)[self.active]

    @property
    def fine_points(self) -> np.ndarray:
        """The half-spacing sampling grid [nm], ``(2 size - 1, 2 size - 1, 2)``: cells at
        (even, even), x-faces at (odd, even), y-faces at (even, odd), corners at (odd, odd)."""
        f = (np.arange(2 * self.size - 1) / 2 - self.n) * self.spacing_nm
        X, Y = np.meshgrid(f, f, indexing="ij")
        return np.stack([X, Y], axis=-1)

    def scatter(self, p: Float[Array, " m"]) -> Float[Array, "s s"]:
        """Active-cell vector -> full ``(size, size)`` array, zero outside the disk."""
        full = jnp.zeros(self.size * self.size, p.dtype).at[self.active].set(p)
        return full.reshape(self.size, self.size)

    def gather(self, P: Float[Array, "s s"]) -> Float[Array, " m"]:
        """Full array -> active-cell vector."""
        return P.reshape(-1)[self.active]


class DiffusionOperator(eqx.Module):
    """The discretised right-hand side of Eq. (25) on a :class:`DiskGrid` (one problem).

    Built by :func:`diffusion_operator`. ``dxx, dyy, dxy`` are the diffusion tensor
    [nm²/s] on x-faces ``(s-1, s)``, y-faces ``(s, s-1)`` and corners ``(s-1, s-1)``;
    ``dcell`` the scalar ``D`` at active cells (``"laplacian"`` only).
    """

    grid: DiskGrid = eqx.field(static=True)
    form: str = eqx.field(static=True)
    boundary: str = eqx.field(static=True)
    dxx: Float[Array, "s1 s"]
    dyy: Float[Array, "s s1"]
    dxy: Float[Array, "s1 s1"]
    dcell: Float[Array, " m"]

    def _apply_full(self, P):
        h = self.grid.spacing_nm
        gx = (P[1:, :] - P[:-1, :]) / h
        gy = (P[:, 1:] - P[:, :-1]) / h
        Fx = self.dxx * gx
        Fy = self.dyy * gy
        if self.form == "tensor":
            cgx = (gx[:, 1:] + gx[:, :-1]) / 2
            cgy = (gy[1:, :] + gy[:-1, :]) / 2
            vx = self.dxy * cgy  # to x-faces: transpose of the corner average along y
            vy = self.dxy * cgx  # to y-faces: transpose of the corner average along x
            Fx = Fx + (jnp.pad(vx, ((0, 0), (1, 0))) + jnp.pad(vx, ((0, 0), (0, 1)))) / 2
            Fy = Fy + (jnp.pad(vy, ((1, 0), (0, 0))) + jnp.pad(vy, ((0, 1), (0, 0)))) / 2
        div = jnp.diff(jnp.pad(Fx, ((1, 1), (0, 0))), axis=0) / h
        return div + jnp.diff(jnp.pad(Fy, ((0, 0), (1, 1))), axis=1) / h

    def __call__(self, p: Float[Array, " m"]) -> Float[Array, " m"]:
        """``dP/dt`` [1/s units of P] for the active-cell vector ``p`` (``(n_active,)``)."""
        m = self.grid.num_active
        if p.shape != (m,):
            raise ValueError(f"`p` must have shape ({m},) (the active cells); got {p.shape}.")
        out = self.grid.gather(self._apply_full(self.grid.scatter(p)))
        if self.form == "laplacian":
            out = self.dcell * out
        return out

    def symmetric(self) -> tuple:
        """``(matvec, left, right)`` with ``matvec`` symmetric and
        ``L = diag(left) S diag(right)``: ``u^T exp(L t) v = (left u)^T exp(S t)(right v)``.
        Identity scalings except for ``"laplacian"`` (``S = D^{1/2} Δ D^{1/2}``)."""
        m = self.grid.num_active
        if self.form != "laplacian":
            one = jnp.ones(m, self.dxx.dtype)
            return self, one, one
        s = jnp.sqrt(self.dcell)
        matvec = lambda p: s * self.grid.gather(self._apply_full(self.grid.scatter(s * p)))
        return matvec, s, 1.0 / s


def diffusion_operator(
    grid: DiskGrid,
    D_fine: Float[Array, "f f 2 2"] | Float[Array, "f f"] | float,
    *,
    form: Form = "tensor",
    boundary: Boundary = "dirichlet",
) -> DiffusionOperator:
    """Assemble Eq. (25) on ``grid`` from the diffusion tensor sampled on
    ``grid.fine_points`` (``(f, f, 2, 2)``), a scalar field ``(f, f)`` or a constant
    [nm²/s]. ``form`` is the reading (module docstring), ``boundary`` ``"dirichlet"`` or
    ``"noflux"``.

    Checked: the grid's memory (``MemoryBudgetError``); ``D_fine``'s shape; its values
    finite and positive semidefinite (``D^xx, D^yy >= 0``, ``(D^xy)² <= D^xx D^yy`` to
    rounding; a scalar field ``>= 0``), ``> 0`` at the active cells for ``"laplacian"``
    (``ValueError`` now, or ``eqx.error_if`` when traced). A negative ``D`` would make
    the operator grow instead of decay."""
    check_grid_fits(grid)
    if form not in ("tensor", "divergence", "laplacian"):
        raise ValueError(f"`form` must be 'tensor', 'divergence' or 'laplacian'; got {form!r}.")
    if boundary not in ("dirichlet", "noflux"):
        raise ValueError(f"`boundary` must be 'dirichlet' or 'noflux'; got {boundary!r}.")
    f = 2 * grid.size - 1
    D = jnp.asarray(D_fine)
    if D.ndim == 0:
        D = D * jnp.broadcast_to(jnp.eye(2, dtype=D.dtype), (f, f, 2, 2))
    elif D.shape == (f, f):
        D = D[..., None, None] * jnp.eye(2, dtype=D.dtype)
    elif D.shape != (f, f, 2, 2):
        raise ValueError(
            f"`D_fine` must be a scalar, ({f}, {f}) or ({f}, {f}, 2, 2) on grid.fine_points; "
            f"got {D.shape}."
        )
    D = check_value(
        D,
        _not_psd,
        "`D_fine` must be finite and positive semidefinite (D^xx, D^yy >= 0, "
        "(D^xy)^2 <= D^xx D^yy) [nm^2/s].",
    )
    if form == "laplacian":
        cells = jnp.asarray(grid.mask)
        D = check_value(
            D,
            lambda d: cells & ~((d[::2, ::2, 0, 0] + d[::2, ::2, 1, 1]) > 0),
            '`D_fine` must be > 0 at the active cells for form="laplacian" [nm^2/s].',
        )
    return _assemble(grid, D, form, boundary)


def _not_psd(D):
    xx, yy, xy, yx = D[..., 0, 0], D[..., 1, 1], D[..., 0, 1], D[..., 1, 0]
    slack = 1e-9 * (jnp.abs(xx) + jnp.abs(yy)) ** 2 + jnp.finfo(D.dtype).tiny
    return (
        ~jnp.all(jnp.isfinite(D), axis=(-2, -1)) | (xx < 0) | (yy < 0) | (xy * yx > xx * yy + slack)
    )


def _assemble(grid: DiskGrid, D, form: str, boundary: str) -> DiffusionOperator:
    """Eq. (25) on ``grid`` from a checked ``(f, f, 2, 2)`` tensor field."""
    iso = (D[..., 0, 0] + D[..., 1, 1]) / 2
    m = jnp.asarray(grid.mask, D.dtype)
    if form == "tensor":
        # Corner tensors; each corner's energy is the mean of g^T D_c g over the four
        # gradients g made of one adjacent x-face and one adjacent y-face difference, which
        # is >= 0 whenever D_c is: L is negative semidefinite for any PSD tensor field.
        Dc = D[1::2, 1::2]
        if boundary == "noflux":
            Dc = Dc * (m[1:, 1:] * m[1:, :-1] * m[:-1, 1:] * m[:-1, :-1])[..., None, None]
        cxx, cyy, dxy = Dc[..., 0, 0], Dc[..., 1, 1], Dc[..., 0, 1]
        dxx = (jnp.pad(cxx, ((0, 0), (1, 0))) + jnp.pad(cxx, ((0, 0), (0, 1)))) / 2
        dyy = (jnp.pad(cyy, ((1, 0), (0, 0))) + jnp.pad(cyy, ((0, 1), (0, 0)))) / 2
    else:
        if form == "divergence":
            dxx, dyy = iso[1::2, ::2], iso[::2, 1::2]
        else:
            dxx, dyy = jnp.ones_like(iso[1::2, ::2]), jnp.ones_like(iso[::2, 1::2])
        dxy = jnp.zeros_like(iso[1::2, 1::2])
        if boundary == "noflux":
            dxx = dxx * (m[1:, :] * m[:-1, :])
            dyy = dyy * (m[:, 1:] * m[:, :-1])
    dcell = grid.gather(iso[::2, ::2])
    return DiffusionOperator(grid, form, boundary, dxx, dyy, dxy, dcell)


def cell_weights(grid: DiskGrid) -> tuple[np.ndarray, float]:
    """``(r2, area)``: squared radius of each active cell centre [nm²] and the cell area."""
    c = grid.centres
    return np.sum(c**2, axis=1), grid.spacing_nm**2


def check_grid_fits(grid: DiskGrid, itemsize: int = 8) -> None:
    """Refuse grids whose sampling arrays would not fit (estimate, bytes)."""
    if not isinstance(grid, DiskGrid):
        raise TypeError(f"`grid` must be a DiskGrid; got {type(grid).__name__}.")
    f = 2 * grid.size - 1
    check_fits(f * f * 12 * itemsize, f"the {grid.size} x {grid.size} diffusion grid")
