"""Many-body-localization diagnostics of the electron spins [DeLuca16, Sec. V, Fig. 4].

The electron Hamiltonian (Eq. (9) without the nuclear spin, which the paper's Fig. 4 leaves
out) is diagonalized in its zero-magnetization sector (``M = 0``; ``M = −1/2`` for odd
``N``). In an ETH phase the local polarization ``<n|S^z_i|n>`` is a smooth function of the
energy, so neighbouring eigenstates agree and ``δM_n = <n+1|S^z_i|n+1> − <n|S^z_i|n>``
shrinks exponentially with ``N``; in the localized phase it stays ``O(1)``. The paper
averages ``δM_n`` "over disorder realizations and globally unpolarized eigenstates"; a
signed difference averages to zero, so we average ``|δM_n|`` (the reading that makes the
figure's decay meaningful).
"""

import math
import operator

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._checks import jit
from .._memory import available_memory_bytes, check_fits, format_bytes
from ._basis import basis
from ._ed import _sector_hamiltonian
from ._model import ELECTRON_FIELDS, DeLucaModel
from ._stationary import _check_model, block_count, map_models


def _site_index(site, n_spins):
    if site is None:
        return None
    try:
        site = operator.index(site)
    except TypeError:
        raise ValueError(f"`site` must be an integer or None; got {site!r}.") from None
    if not 0 <= site < n_spins:
        raise ValueError(f"`site` must be in [0, {n_spins}) or None; got {site}.")
    return site


def _kernel(model: DeLucaModel, site):
    n = model.n_spins
    k = n // 2
    e, v = jnp.linalg.eigh(_sector_hamiltonian(model, k, nucleus=False))
    m = jnp.asarray(basis(n, False).sectors[k].m_e, v.dtype)
    sz = (v**2).T @ m  # (d, N): <n|S^z_i|n>
    return e, (sz if site is None else sz[:, site])


@jit
def _eig_jit(model, site, block):
    return map_models(lambda m: _kernel(m, site), model, block_size=block)


def eigenstate_polarizations(
    model: DeLucaModel, site: int | None = 0, *, block_size: int | None = None
) -> tuple[Float[Array, "... d"], Float[Array, "... d"]]:
    """``(ε_n, <n|S^z_site|n>)`` for the zero-magnetization eigenstates of the electron
    Hamiltonian, ascending energy [DeLuca16, Fig. 4(a)]; ``site=None`` returns all spins
    (last axis ``N``). ``ε_n`` in rad/µs (rotating frame, the sector's ``ω_e M = 0``).

    Checked: shapes, memory, ``delta`` and ``U`` finite (the values it reads; a
    ``ValueError`` now, or ``eqx.error_if`` when traced), ``site`` in ``[0, N)`` or
    ``None``, ``block_size`` an int >= 1 or ``None`` (realizations at once: as many as fit
    in memory, at most 64; :func:`eigenstate_bytes` each). N = 16 (sector 12870) needs
    6.6 GB per realization and about 2·10¹³ flops (minutes per realization on 2 cores)."""
    model, batch = _check_model(model, fields=ELECTRON_FIELDS)
    site = _site_index(site, model.n_spins)
    block_size = block_count(block_size)
    size = int(np.prod(batch, dtype=np.int64)) if batch else 1
    per = eigenstate_bytes(model.n_spins)
    if block_size is None:  # as many realizations at once as fit (at most 64), at least 1
        block_size = max(1, min(64, available_memory_bytes() // per))
    block = min(size, block_size)
    d = math.comb(model.n_spins, model.n_spins // 2)
    check_fits(
        block * per,
        f"[DeLuca16] zero-magnetization eigenstates of N = {model.n_spins} electron spins "
        f"(sector dimension {d}, {block} realization(s) at once; "
        f"{format_bytes(per)} each)",
    )
    return _eig_jit(model, site, block)


def eigenstate_bytes(n_spins: int) -> int:
    """Bytes (float64) that :func:`eigenstate_polarizations` holds per realization: the
    ``d × d`` sector Hamiltonian, its eigenvectors, LAPACK's workspace (``2d²``), their
    squares and the ``(d, N)`` polarizations, ``d = C(N, ⌊N/2⌋)`` (N = 16: 6.6 GB)."""
    d = math.comb(n_spins, n_spins // 2)
    return 8 * (5 * d * d + d * (n_spins + 2))


def level_polarization_jumps(
    model: DeLucaModel, site: int | None = 0, *, block_size: int | None = None
) -> Float[Array, "..."]:
    """Mean over consecutive zero-magnetization eigenstates of
    ``|<n+1|S^z_site|n+1> − <n|S^z_site|n>|`` per realization [DeLuca16, Fig. 4(b)];
    ``site=None`` also averages over the spins. Average the result over realizations."""
    _, sz = eigenstate_polarizations(model, site, block_size=block_size)
    jumps = jnp.abs(jnp.diff(sz, axis=-2 if site is None else -1))
    return jnp.mean(jumps, axis=(-2, -1) if site is None else -1)
