"""Shared test utilities: random Lindbladians and QuTiP conversions (tests only)."""

import numpy as np
import qutip


def random_hermitian(rng, n, scale=1.0):
    a = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    return scale * (a + a.conj().T) / 2


def random_lindblad(rng, n, k=2, scale=1.0):
    """A random Hamiltonian and ``k`` random jump operators of dimension ``n``."""
    H = random_hermitian(rng, n, scale)
    jumps = [
        (rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))) * np.sqrt(scale / n)
        for _ in range(k)
    ]
    return H, jumps


def qutip_steadystate(H, jumps):
    return qutip.steadystate(
        qutip.Qobj(np.asarray(H)), [qutip.Qobj(np.asarray(c)) for c in jumps]
    ).full()


def row_to_column_superop(sq, n):
    """Convert a QuTiP (column-stacking) superoperator matrix to jaxspin's row-major one."""
    perm = np.arange(n * n).reshape(n, n).T.reshape(-1)  # row-major index -> column-major index
    return sq[np.ix_(perm, perm)]
