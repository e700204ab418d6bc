"""Exact diagonalization of [DeLuca16, Eq. (9)], sector by sector of total electron S^z.

Every sector Hamiltonian is real symmetric (``S^+S^- + h.c.`` and ``I^x`` are real), so
``jnp.linalg.eigh`` works on real float64 matrices of dimension ``2·C(N, k)``. The
constant ``ω_e M`` is left out of the diagonalised matrix (it is added back analytically:
lab-frame energies are ``ε_n = ε'_n + ω_e M_n``), so that eigenvalue differences of a few
rad/µs are not computed next to ``ω_e·N ≈ 10⁶`` rad/µs.
"""

import math
import operator

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._memory import check_fits, format_bytes
from ._basis import basis, sector_dims
from ._model import (
    ELECTRON_FIELDS,
    PARAMETER_RULES,
    SPECTRUM_FIELDS,
    DeLucaModel,
    checked,
    float_leaves,
    positive_int,
)


class Spectrum(eqx.Module):
    """Eigen-decomposition of one realization, per sector ``k = 0..N`` (``M = k − N/2``).

    ``energies[k]``: ``(d_k,)`` eigenvalues ``ε'_n`` of ``H − ω_e S^z`` [rad/µs], ascending;
    ``vectors[k]``: ``(d_k, d_k)`` eigenvectors (columns) in the sector's product basis.
    """

    energies: tuple[Float[Array, " d"], ...]
    vectors: tuple[Float[Array, "d d"], ...]


def one_realization(model: DeLucaModel, fields) -> DeLucaModel:
    """Check that ``model`` is a single realization (``delta`` of shape ``(N,)``) and the
    values ``fields`` that the caller reads (eagerly, or with ``eqx.error_if`` when traced);
    the building blocks below take one realization (``jax.vmap`` them over a batch)."""
    if not isinstance(model, DeLucaModel):
        raise TypeError(f"`model` must be a DeLucaModel; got {type(model).__name__}.")
    model = float_leaves(model)
    if model.delta.ndim != 1:
        raise ValueError(
            f"`model` must be one realization (delta of shape (N,)); got delta "
            f"{model.delta.shape}. Use jax.vmap over a batch, or the pipeline functions."
        )
    if any(getattr(model.params, f).ndim for f in PARAMETER_RULES):
        raise ValueError("`model.params` must hold scalars for one realization.")
    return checked(model, fields, "model")


def sector_hamiltonian(model: DeLucaModel, k: int, *, nucleus: bool = True) -> Float[Array, "d d"]:
    """The real symmetric block of ``H − ω_e S^z`` [Eq. (9)] in sector ``k`` (one
    realization): ``Σ Δ_i S^z_i + Σ_{i<j} U_ij (S^+_i S^-_j + h.c.) − ω_n I^z
    + Σ D_i S^z_i I^x`` (the last two only with ``nucleus``).

    Checked: ``model`` is one realization whose ``delta``, ``U`` (and with the nucleus
    ``D``, ``params.omega_n``) are finite (``ValueError`` now, ``eqx.error_if`` when
    traced); ``0 <= k <= N``; the memory (:func:`check_size`)."""
    model = one_realization(model, SPECTRUM_FIELDS if nucleus else ELECTRON_FIELDS)
    try:
        k = operator.index(k)
    except TypeError:
        raise ValueError(f"`k` must be an integer sector index; got {k!r}.") from None
    if not 0 <= k <= model.n_spins:
        raise ValueError(f"`k` must be in [0, N] = [0, {model.n_spins}]; got {k}.")
    check_size(model.n_spins, nucleus=nucleus)
    return _sector_hamiltonian(model, k, nucleus=nucleus)


def _sector_hamiltonian(model: DeLucaModel, k: int, *, nucleus: bool = True):
    b = basis(model.n_spins, nucleus)
    sec = b.sectors[k]
    dt = model.delta.dtype
    diag = jnp.asarray(sec.m_e, dt) @ model.delta
    if nucleus:
        diag = diag - model.params.omega_n * jnp.asarray(sec.m_n, dt)
    H = jnp.diag(diag)
    rows, cols, ii, jj = b.flipflops(k)
    if rows.size:
        vals = model.U[ii, jj]
        H = H.at[rows, cols].set(vals).at[cols, rows].set(vals)
    if nucleus:
        # <c, ν|Σ_i D_i S^z_i I^x|c, ν'> = (Σ_i D_i m_i(c))/2 for ν ≠ ν' (states come in pairs)
        even = jnp.arange(0, sec.dim, 2)
        hf = 0.5 * (jnp.asarray(sec.m_e[0::2], dt) @ model.D)
        H = H.at[even, even + 1].set(hf).at[even + 1, even].set(hf)
    return H


def spectrum_bytes(n_spins: int, batch: int = 1, *, nucleus: bool = True) -> int:
    """Bytes held per pipeline run: Hamiltonians and eigenvectors of all sectors, the
    in-sector and neighbouring-sector matrix-element/rate blocks and their elimination
    (float64), for ``batch`` realizations in flight (``n_spins``, ``batch``: ints >= 1)."""
    n_spins = positive_int(n_spins)
    batch = positive_int(batch, "batch")
    dims = sector_dims(n_spins, nucleus)
    sq = sum(d * d for d in dims)
    nb = sum(a * b for a, b in zip(dims[:-1], dims[1:], strict=True))
    return 8 * batch * (6 * sq + 8 * nb)


def check_size(n_spins: int, batch: int = 1, *, nucleus: bool = True) -> None:
    """Refuse (``MemoryBudgetError`` with the number) before allocating a pipeline that
    cannot fit; called by every public entry point with its batch size."""
    n_spins = positive_int(n_spins)
    batch = positive_int(batch, "batch")
    nbytes = spectrum_bytes(n_spins, batch, nucleus=nucleus)
    dim = (2 if nucleus else 1) * 2**n_spins
    check_fits(
        nbytes,
        f"[DeLuca16] N = {n_spins} electron spins ({dim} states, largest sector "
        f"{max(sector_dims(n_spins, nucleus))}, {batch} realization(s) at once; "
        f"{format_bytes(nbytes / batch)} each)",
    )


def diagonalize(model: DeLucaModel, *, nucleus: bool = True) -> Spectrum:
    """:class:`Spectrum` of one realization (``jnp.linalg.eigh`` per sector, float64).

    Use inside ``jax.vmap`` for a batch. Checked first: ``model`` is one valid realization
    (as :func:`sector_hamiltonian`) and the spectrum fits in memory (:func:`check_size`).
    """
    model = one_realization(model, SPECTRUM_FIELDS if nucleus else ELECTRON_FIELDS)
    check_size(model.n_spins, nucleus=nucleus)
    return _diagonalize(model, nucleus=nucleus)


def _diagonalize(model: DeLucaModel, *, nucleus: bool = True) -> Spectrum:
    n = model.n_spins
    energies, vectors = [], []
    for k in range(n + 1):
        e, v = jnp.linalg.eigh(_sector_hamiltonian(model, k, nucleus=nucleus))
        energies.append(e)
        vectors.append(v)
    return Spectrum(tuple(energies), tuple(vectors))


def magnetizations(n_spins: int, *, nucleus: bool = True) -> Float[Array, " n"]:
    """Total electron ``M`` of every eigenstate, sectors concatenated (``k − N/2``)."""
    dims = sector_dims(n_spins, nucleus)
    return jnp.concatenate(
        [jnp.full(d, k - n_spins / 2, jnp.result_type(float)) for k, d in enumerate(dims)]
    )


def largest_dimension(n_spins: int, nucleus: bool = True) -> int:
    """Largest sector dimension (``(1 or 2)·C(N, N/2)``)."""
    return (2 if nucleus else 1) * math.comb(n_spins, n_spins // 2)
