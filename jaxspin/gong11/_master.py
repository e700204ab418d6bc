"""The lattice rate equation of [Gong11], Eq. (17), solved on the lattice itself.

``d<I^z_k>/dt = Σ_{i≠k} W_ik (<I^z_i> - <I^z_k>)`` is a classical master equation with
symmetric rates (in :func:`jaxspin.generator`'s convention ``W[j, i]`` = rate ``i → j``,
``W`` symmetric). For the 1e5-1e6 sites of a dot and its surroundings it is stored as a
fixed-width neighbour list (every site of a Bravais lattice has the same partner offsets):
``neighbours[k, b]`` is the index of ``k + offsets[b]`` or ``N`` for a partner outside the
disk, and ``rates[k, b]`` its rate. The right-hand side is matrix-free (one gather per
offset, O(N n)); the rates are symmetrised, ``(W_ik + W_ki)/2`` from the two ends, so the
operator is exactly symmetric. This is the ground truth for the continuum readings of
Eq. (25) (:mod:`._pde`).

Boundary: partners outside the disk hold ``<I^z> = 0`` (``"dirichlet"``, the paper's
condition) or their bonds are cut (``"noflux"``, conserving ``Σ_k <I^z_k>``).
"""

import math

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from .._memory import check_fits
from ._couplings import QuantumDot, _check_dot, bond_rates_at
from ._lattice import AbstractLattice, Neighbourhood, _length


def _integer_keys(ints: np.ndarray, span: int) -> np.ndarray:
    w = 2 * span + 1
    shifted = ints.astype(np.int64) + span
    return (shifted[:, 0] * w + shifted[:, 1]) * w + shifted[:, 2]


def neighbour_list(
    lattice: AbstractLattice, nb: Neighbourhood, radius_nm: float
) -> tuple[np.ndarray, np.ndarray]:
    """Sites ``(N, 3)`` [nm] of the layer ``z = 0`` inside the disk and the neighbour table
    ``(N, n)`` (``N`` marks a partner outside the disk). Only in-plane partners are allowed:
    the lattice equation is solved for planar lattices (:class:`SquareLattice`).

    Checked: ``nb`` was built for ``lattice``; ``radius_nm`` finite and > 0; the memory of
    the site and neighbour tables (``MemoryBudgetError`` before anything is allocated)."""
    if not isinstance(lattice, AbstractLattice):
        raise TypeError(f"`lattice` must be a lattice object; got {type(lattice).__name__}.")
    if not isinstance(nb, Neighbourhood):
        raise TypeError(f"`nb` must be a Neighbourhood; got {type(nb).__name__}.")
    if nb.lattice != lattice:
        raise ValueError(f"`nb` was built for {nb.lattice}, not for `lattice` = {lattice}.")
    radius_nm = _length(radius_nm, "radius_nm")
    _check_lattice_fits(lattice, nb, radius_nm)
    if np.any(nb.offsets[:, 2] != 0):
        raise ValueError(
            "The lattice master equation is solved in the plane z = 0 only; this "
            "neighbourhood has out-of-plane partners (FCCLattice). Use a planar lattice "
            "(SquareLattice) or the continuum equation."
        )
    sites = lattice.plane_sites(radius_nm)
    unit = lattice._unit
    ints = np.rint(sites / unit).astype(np.int64)
    offs = np.rint(nb.offsets / unit).astype(np.int64)
    span = int(np.max(np.abs(ints))) + int(np.max(np.abs(offs))) + 1
    keys = _integer_keys(ints, span)
    order = np.argsort(keys)
    sorted_keys = keys[order]
    N = len(sites)
    table = np.full((N, len(offs)), N, dtype=np.int32)
    for b, o in enumerate(offs):
        k2 = _integer_keys(ints + o, span)
        pos = np.clip(np.searchsorted(sorted_keys, k2), 0, N - 1)
        found = sorted_keys[pos] == k2
        table[found, b] = order[pos[found]]
    return sites, table


class LatticeDiffusion(eqx.Module):
    """Eq. (17) on a disk of lattice sites (one problem): ``__call__(P)`` is ``dP/dt``.

    **Attributes:** ``sites (N, 3)`` [nm], ``neighbours (N, n)`` (``N`` = outside),
    ``rates (N, n)`` [1/s] (symmetrised; 0 for cut bonds), ``loss (N,)`` [1/s] (rate to
    partners outside the disk, Dirichlet only).
    """

    sites: Float[Array, "N 3"]
    neighbours: Int[Array, "N n"]
    rates: Float[Array, "N n"]
    loss: Float[Array, " N"]

    @property
    def num_sites(self) -> int:
        return self.sites.shape[0]

    def __call__(self, P: Float[Array, " N"]) -> Float[Array, " N"]:
        if P.shape != (self.num_sites,):
            raise ValueError(f"`P` must have shape ({self.num_sites},); got {P.shape}.")
        padded = jnp.concatenate([P, jnp.zeros((1,), P.dtype)])
        inflow = jnp.sum(self.rates * padded[self.neighbours], axis=1)
        return inflow - (jnp.sum(self.rates, axis=1) + self.loss) * P

    def rate_matrix(self) -> Float[Array, "N N"]:
        """Dense ``W`` with ``W[j, i]`` = rate ``i → j`` (jaxspin's convention, usable with
        :func:`jaxspin.generator` / :func:`jaxspin.ratesolve`; small ``N`` only). The loss
        to outside partners is not a jump between sites: add ``-diag(loss)``."""
        N = self.num_sites
        check_fits(N * N * self.rates.dtype.itemsize * 3, f"the dense {N} x {N} rate matrix")
        rows = jnp.broadcast_to(jnp.arange(N)[:, None], self.neighbours.shape)
        W = jnp.zeros((N + 1, N + 1), self.rates.dtype)
        W = W.at[self.neighbours, rows].add(self.rates)
        return W[:N, :N]


def _estimated_sites(lattice: AbstractLattice, radius_nm: float) -> int:
    """Sites of the plane inside the disk, from the area (an upper estimate)."""
    r = radius_nm + lattice.nearest_neighbour_distance
    return int(math.pi * r * r / lattice.area_per_site) + 1


def _check_lattice_fits(lattice, nb, radius_nm: float) -> None:
    N, n = _estimated_sites(lattice, radius_nm), nb.num_partners
    check_fits(
        N * n * 8 * 6 + N * 8 * 8,
        f"the lattice problem on a disk of radius {radius_nm} nm (about {N} sites, "
        f"{n} partners each)",
    )


def lattice_diffusion(
    dot: QuantumDot,
    nb: Neighbourhood,
    radius_nm: float,
    *,
    boundary: str = "dirichlet",
    block_size: int | None = None,
) -> LatticeDiffusion:
    """Build Eq. (17) for the sites of ``nb.lattice``'s plane inside ``radius_nm`` [nm],
    with the rates of Eq. (18) for every partner within the cut-off.

    ```python
    nb = neighbourhood(SquareLattice())
    ld = lattice_diffusion(QuantumDot(B0_T=2.0), nb, 150.0)   # 2.2e5 sites
    ```

    Checked before anything is built: ``dot`` and ``nb`` types, ``radius_nm`` finite and
    > 0, ``boundary``, ``block_size`` (an int >= 1 or ``None``) and the memory of the
    tables (``MemoryBudgetError`` with the number).
    """
    _check_dot(dot, nb)
    if boundary not in ("dirichlet", "noflux"):
        raise ValueError(f"`boundary` must be 'dirichlet' or 'noflux'; got {boundary!r}.")
    radius_nm = _length(radius_nm, "radius_nm")
    _check_lattice_fits(nb.lattice, nb, radius_nm)
    sites, table = neighbour_list(nb.lattice, nb, radius_nm)
    N, n = table.shape
    check_fits(N * n * 8 * 6, f"the lattice problem with {N} sites and {n} partners each")
    W = bond_rates_at(dot, nb, jnp.asarray(sites), block_size=block_size)  # (N, n)
    inside = jnp.asarray(table < N)
    idx = jnp.asarray(np.minimum(table, N - 1))
    W_back = W[idx, jnp.asarray(nb.reverse)[None, :]]
    sym = jnp.where(inside, (W + W_back) / 2, 0.0)
    if boundary == "dirichlet":
        loss = jnp.sum(jnp.where(inside, 0.0, W), axis=1)
    else:
        loss = jnp.zeros((N,), W.dtype)
    return LatticeDiffusion(jnp.asarray(sites), jnp.asarray(table), sym, loss)
