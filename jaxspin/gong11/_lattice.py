"""Nuclear lattices and the neighbour tables of the flip-flop stencil [Gong11, Eqs. (17)-(21)].

Two lattices are offered, both Bravais, so every site sees the same set of neighbour offsets
and a rate "stencil" can be evaluated at any position:

* :class:`SquareLattice` -- the 2-D square lattice of the paper (its remark on the missing
  azimuthal symmetry of Figs. 1-2), spacing ``a0 = 0.563 nm``. With this spacing a disk of
  radius 300 nm holds ``pi 300^2 / 0.563^2 = 8.9e5`` sites: the paper's ``N ≈ 9e5``.
* :class:`FCCLattice` -- one species' sublattice of zinc blende (75As on an fcc lattice with
  cubic constant ``a0 = 0.563 nm``, nearest neighbours ``a0/sqrt(2) = 0.398 nm``); the
  diffusing layer is its (001) plane ``z = 0`` and flip-flop partners are taken in 3-D.

Geometry is static (it fixes array shapes): positions are built with NumPy from integer
lattice coordinates, so offsets are deduplicated exactly. Lengths are in nm.
"""

import abc
import math

import equinox as eqx
import numpy as np

from .._memory import check_fits


def _length(x, name: str) -> float:
    """A finite length > 0 [nm] as a Python float (static geometry), else ``ValueError``."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise ValueError(
            f"`{name}` must be a concrete number [nm] (it fixes the geometry); got {x!r}."
        ) from None
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"`{name}` must be finite and > 0 [nm]; got {x}.")
    return v


class AbstractLattice(eqx.Module):
    """A Bravais lattice of nuclear sites (static geometry, lengths in nm)."""

    @abc.abstractmethod
    def _integer_points(self, n: int, plane: bool = False) -> np.ndarray:
        """Integer coordinates ``(m, 3)`` of the points with every ``|coordinate| <= n``
        (only those with ``z = 0`` when ``plane``)."""

    @property
    @abc.abstractmethod
    def _unit(self) -> float:
        """Length [nm] of one integer coordinate step."""

    @property
    @abc.abstractmethod
    def area_per_site(self) -> float:
        """Area [nm^2] per site of the diffusing layer ``z = 0`` (inverse sheet density)."""

    @property
    @abc.abstractmethod
    def nearest_neighbour_distance(self) -> float:
        """Distance [nm] between nearest neighbours."""

    def offsets(self, cutoff_nm: float) -> np.ndarray:
        """Offsets ``(m, 3)`` [nm] to every other site within ``cutoff_nm`` (inclusive, with a
        relative tolerance of 1e-9), sorted by distance and then lexicographically."""
        return self._unit * self._integer_offsets(cutoff_nm).astype(float)

    def _integer_offsets(self, cutoff_nm: float) -> np.ndarray:
        cutoff_nm = _length(cutoff_nm, "cutoff_nm")
        if not cutoff_nm >= self.nearest_neighbour_distance * (1 - 1e-9):
            raise ValueError(
                f"`cutoff_nm` = {cutoff_nm} nm is below the nearest-neighbour distance "
                f"{self.nearest_neighbour_distance:.4g} nm: no flip-flop partners."
            )
        n = int(math.ceil(cutoff_nm / self._unit)) + 1
        check_fits(
            self._points_bytes(n, plane=False),
            f"the lattice points within the cut-off {cutoff_nm} nm",
        )
        pts = self._integer_points(n)
        d2 = np.sum(pts.astype(float) ** 2, axis=1) * self._unit**2
        keep = (d2 > 0) & (d2 <= cutoff_nm**2 * (1 + 1e-9))
        pts, d2 = pts[keep], d2[keep]
        order = np.lexsort((pts[:, 2], pts[:, 1], pts[:, 0], np.round(d2, 9)))
        return pts[order]

    def _points_bytes(self, n: int, plane: bool) -> int:
        """Peak bytes of :meth:`_integer_points` ``(n)``: the integer cube (square for a
        plane) held about four times (meshgrid, stack, float copy, mask), int64/float64."""
        side = 2 * n + 1
        return 4 * 8 * 3 * side ** (2 if plane or self._planar else 3)

    @property
    def _planar(self) -> bool:
        return False

    def plane_sites(self, radius_nm: float) -> np.ndarray:
        """Sites ``(N, 3)`` [nm] of the layer ``z = 0`` strictly inside a disk of radius
        ``radius_nm`` (finite, > 0) centred on the site at the origin. The memory of the
        enclosing square of lattice points is checked first (``MemoryBudgetError``)."""
        radius_nm = _length(radius_nm, "radius_nm")
        n = int(math.ceil(radius_nm / self._unit)) + 1
        check_fits(
            self._points_bytes(n, plane=True),
            f"the lattice sites of a disk of radius {radius_nm} nm (about "
            f"{math.pi * radius_nm**2 / self.area_per_site:.3g} sites)",
        )
        pts = self._integer_points(n, plane=True)
        xyz = self._unit * pts.astype(float)
        r2 = xyz[:, 0] ** 2 + xyz[:, 1] ** 2
        return xyz[r2 < radius_nm**2]


class SquareLattice(AbstractLattice):
    """The 2-D square lattice of [Gong11] (all sites at ``z = 0``), spacing ``spacing_nm``
    (default ``a0 = 0.563 nm``, the paper's lattice constant).

    ```python
    lat = SquareLattice()
    lat.offsets(1.0).shape   # (8, 3): 4 nearest and 4 diagonal neighbours
    ```
    """

    spacing_nm: float = eqx.field(static=True, default=0.563)

    def __check_init__(self):
        _length(self.spacing_nm, "spacing_nm")

    @property
    def _planar(self):
        return True

    def _integer_points(self, n, plane=False):
        r = np.arange(-n, n + 1)
        X, Y = np.meshgrid(r, r, indexing="ij")
        return np.stack([X.ravel(), Y.ravel(), np.zeros(X.size, int)], axis=1)

    @property
    def _unit(self):
        return self.spacing_nm

    @property
    def area_per_site(self):
        return self.spacing_nm**2

    @property
    def nearest_neighbour_distance(self):
        return self.spacing_nm


class FCCLattice(AbstractLattice):
    """A face-centred cubic sublattice of zinc blende (e.g. the 75As sites of GaAs/InAs),
    cubic lattice constant ``a_nm`` (default 0.563 nm), cube axes along x, y, z.

    The diffusing layer is the (001) plane ``z = 0`` (a square lattice of spacing
    ``a/sqrt(2)`` rotated by 45 degrees, ``2/a^2`` sites per nm^2); flip-flop partners and
    the environment of Eq. (21) are 3-D.
    """

    a_nm: float = eqx.field(static=True, default=0.563)

    def __check_init__(self):
        _length(self.a_nm, "a_nm")

    def _integer_points(self, n, plane=False):
        r = np.arange(-n, n + 1)
        X, Y, Z = np.meshgrid(r, r, np.zeros(1, int) if plane else r, indexing="ij")
        pts = np.stack([X.ravel(), Y.ravel(), Z.ravel()], axis=1)
        return pts[np.sum(pts, axis=1) % 2 == 0]

    @property
    def _unit(self):
        return self.a_nm / 2

    @property
    def area_per_site(self):
        return self.a_nm**2 / 2

    @property
    def nearest_neighbour_distance(self):
        return self.a_nm / math.sqrt(2)


class Neighbourhood(eqx.Module):
    """The static tables of the flip-flop stencil of one lattice and cut-off.

    For a site ``k`` and each partner ``i = k + offsets[b]`` (``b < n``) the environment of
    Eq. (21) is the set of sites ``j ≠ i, k`` within ``cutoff_nm`` of ``i`` or of ``k``: the
    same cut-off truncates the partners and the sum of Eq. (21). It is stored as offsets from
    ``k``, ``env[b, :, :]`` (padded; ``env_mask`` marks the real entries).

    **Attributes** (NumPy arrays, lengths in nm): ``offsets (n, 3)``, ``env (n, m, 3)``,
    ``env_mask (n, m)``, ``reverse (n,)`` (index of ``-offsets[b]``), ``cutoff_nm``.
    """

    offsets: np.ndarray
    env: np.ndarray
    env_mask: np.ndarray
    reverse: np.ndarray
    cutoff_nm: float = eqx.field(static=True)
    lattice: AbstractLattice = eqx.field(static=True)

    @property
    def num_partners(self) -> int:
        return self.offsets.shape[0]


def neighbourhood(lattice: AbstractLattice, cutoff_nm: float = 1.0) -> Neighbourhood:
    """Build the stencil tables of ``lattice`` for the neighbour cut-off ``cutoff_nm`` [nm]
    (finite, at least the nearest-neighbour distance; the tables' memory is checked first).

    The default ``1.0 nm`` keeps, on the paper's square lattice, the 4 nearest and the 4
    diagonal neighbours (0.563 and 0.796 nm); it reproduces the paper's bulk value
    ``D ≈ 7 nm^2/s`` and the height of the central peak of Fig. 1 (see README.md, gong11, for
    the convergence study).

    ```python
    nb = neighbourhood(SquareLattice(), cutoff_nm=1.0)
    nb.offsets.shape, nb.env.shape   # (8, 3), (8, 12, 3)
    ```
    """
    if not isinstance(lattice, AbstractLattice):
        raise TypeError(f"`lattice` must be a lattice object; got {type(lattice).__name__}.")
    cutoff_nm = _length(cutoff_nm, "cutoff_nm")
    ints = lattice._integer_offsets(cutoff_nm)
    # the environment table is (n, <= 2n, 3) floats, built by Python set operations
    check_fits(
        len(ints) * 2 * len(ints) * 3 * 8 * 4,
        f"the neighbourhood tables of {len(ints)} partners (cut-off {cutoff_nm} nm)",
    )
    index = {tuple(p): b for b, p in enumerate(ints)}
    reverse = np.array([index[tuple(-p)] for p in ints])
    envs = []
    for p in ints:
        cand = {tuple(q) for q in ints} | {tuple(q + p) for q in ints}
        cand.discard((0, 0, 0))
        cand.discard(tuple(p))
        envs.append(sorted(cand))
    m = max(len(e) for e in envs)
    env = np.zeros((len(ints), m, 3))
    mask = np.zeros((len(ints), m), bool)
    for b, e in enumerate(envs):
        env[b, : len(e)] = lattice._unit * np.asarray(e, float)
        # padded entries point far away (finite geometry, masked out of every sum)
        env[b, len(e) :] = lattice._unit * np.array([1e3, 0.0, 0.0])
        mask[b, : len(e)] = True
    return Neighbourhood(
        offsets=lattice._unit * ints.astype(float),
        env=env,
        env_mask=mask,
        reverse=reverse,
        cutoff_nm=cutoff_nm,
        lattice=lattice,
    )
