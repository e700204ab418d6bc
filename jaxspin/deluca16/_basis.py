"""Static bookkeeping of the sector basis of Eq. (9) (NumPy, cached per number of spins).

The Hamiltonian of [DeLuca16, Eq. (9)] conserves the total electron magnetisation
``M = Σ_i S^z_i`` (flip-flops conserve it, ``D_i S^z_i I^x`` flips only the nucleus), so
it is block diagonal in the sectors ``k = 0..N`` (``k`` electron spins up, ``M = k − N/2``),
each of dimension ``2·C(N, k)`` with the nucleus (``C(N, k)`` without). No other
symmetry survives random ``Δ_i``, ``U_ij``, ``D_i``.

Product basis as in the engine (``jaxspin.product_m_values``): spin order
``(S_1, ..., S_N, I)``, ``m`` descending, first spin most significant; a sector lists its
product states in increasing full-space index, so with the nucleus the states come in
pairs ``(config, I = +1/2), (config, I = −1/2)``.
"""

import functools
import math

import numpy as np

from .._spin import product_m_values, sector_indices


class Sector:
    """Static description of one sector (NumPy arrays, host side)."""

    def __init__(self, k, index, m_e, m_n):
        self.k = k  #: number of electron spins up
        self.index = index  #: full product-space indices of the sector's states, (d,)
        self.m_e = m_e  #: electron m values of each state, (d, N)
        self.m_n = m_n  #: nuclear m value of each state, (d,) (zeros without nucleus)
        self.dim = int(index.size)


class Basis:
    """All sectors of ``n_spins`` electrons (with or without the nuclear spin), with the
    index arrays that build the Hamiltonian and the spin-operator matrix elements."""

    def __init__(self, n_spins: int, nucleus: bool):
        self.n_spins = n_spins
        self.nucleus = nucleus
        spins = (0.5,) * (n_spins + (1 if nucleus else 0))
        m = product_m_values(spins)
        m_e = m[:, :n_spins]
        m_n = m[:, n_spins] if nucleus else np.zeros(m.shape[0])
        groups = sector_indices(m_e.sum(axis=1))
        self.sectors = []
        for k in range(n_spins + 1):
            idx = groups[k - n_spins / 2]
            self.sectors.append(Sector(k, idx, m_e[idx], m_n[idx]))
        self.dims = tuple(s.dim for s in self.sectors)
        self.full_dim = int(m.shape[0])

    # -- Hamiltonian structure inside a sector -------------------------------------------
    def flipflops(self, k: int):
        """Pairs of states coupled by ``S^+_i S^-_j + h.c.``: ``(rows, cols, i, j)`` with
        ``i < j`` (each unordered pair of states once, ``rows < cols``)."""
        sec = self.sectors[k]
        pos = {int(v): a for a, v in enumerate(sec.index)}
        nuc = 2 if self.nucleus else 1
        rows, cols, ii, jj = [], [], [], []
        N = self.n_spins
        for a, full in enumerate(sec.index):
            me = sec.m_e[a]
            for i in range(N):
                for j in range(i + 1, N):
                    if me[i] > 0 > me[j]:  # i up, j down -> swap them
                        # flipping spin i down adds 2^(N-1-i) to the electron index,
                        # flipping spin j up subtracts 2^(N-1-j); times the nuclear factor.
                        other = int(full) + nuc * ((1 << (N - 1 - i)) - (1 << (N - 1 - j)))
                        b = pos[other]
                        rows.append(min(a, b))
                        cols.append(max(a, b))
                        ii.append(i)
                        jj.append(j)
        return tuple(np.asarray(x, dtype=np.int32) for x in (rows, cols, ii, jj))

    def raising(self, k: int):
        """``S^+_j`` from sector ``k`` to ``k+1`` for every spin ``j``: ``(dst, src)``, both
        ``(N, r)`` with ``r = (dim of k+1)·(k+1)/N`` (the states of ``k+1`` with spin ``j``
        up, and their images with spin ``j`` down in ``k``). ``<dst|S^+_j|src> = 1``."""
        lo, hi = self.sectors[k], self.sectors[k + 1]
        pos_lo = {int(v): a for a, v in enumerate(lo.index)}
        nuc = 2 if self.nucleus else 1
        N = self.n_spins
        dst, src = [], []
        for j in range(N):
            d_j = np.nonzero(hi.m_e[:, j] > 0)[0]
            s_j = [pos_lo[int(hi.index[b]) + nuc * (1 << (N - 1 - j))] for b in d_j]
            dst.append(d_j)
            src.append(np.asarray(s_j, dtype=np.int64))
        return np.asarray(dst, dtype=np.int32), np.asarray(src, dtype=np.int32)

    def sz_subsets(self, k: int):
        """For ``Σ_j |<n|S^z_j|n'>|²`` (``n ≠ n'``): per spin ``j`` the states with spin ``j``
        up, or down if those are fewer (``S^z_j = P_up − 1/2 = 1/2 − P_down``, so the
        off-diagonal elements are ``±(VᵀPV)``), ``(N, r)``; ``r = 0`` in the polarised
        sectors where ``S^z_j`` is a multiple of the identity."""
        sec = self.sectors[k]
        N = self.n_spins
        up = sec.k <= N - sec.k
        out = [np.nonzero((sec.m_e[:, j] > 0) if up else (sec.m_e[:, j] < 0))[0] for j in range(N)]
        return np.asarray(out, dtype=np.int32).reshape(N, -1)


@functools.lru_cache(maxsize=16)
def basis(n_spins: int, nucleus: bool = True) -> Basis:
    """The cached :class:`Basis` of ``n_spins`` electrons (and the nucleus)."""
    if n_spins < 1:
        raise ValueError(f"`n_spins` must be >= 1; got {n_spins}.")
    if n_spins > 20:
        raise ValueError(f"`n_spins` = {n_spins} is beyond exact diagonalization (2^N states).")
    return Basis(n_spins, nucleus)


def sector_dims(n_spins: int, nucleus: bool = True) -> tuple[int, ...]:
    """Sector dimensions ``(1 or 2)·C(N, k)``, ``k = 0..N`` (no basis is built)."""
    f = 2 if nucleus else 1
    return tuple(f * math.comb(n_spins, k) for k in range(n_spins + 1))
