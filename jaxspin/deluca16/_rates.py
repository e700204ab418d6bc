"""Rates between eigenstates [DeLuca16, Eqs. (11)-(16)] and the stationary state.

Matrix elements (eigenvectors ``V_k`` of sector ``k``, ``A^j = V_{k+1}ᵀ S^+_j V_k``):

- bath, Eq. (12): ``Σ_α |<n|S^α_j|n'>|²``. Between neighbouring sectors only ``S^x, S^y``
  act and ``|<n|S^x_j|n'>|² + |<n|S^y_j|n'>|² = |A^j_{nn'}|²/2``; inside a sector only
  ``S^z_j`` acts (off-diagonal elements, ``n ≠ n'``).
- microwaves, Eq. (16): ``|<n|S^x|n'>|² = |Σ_j A^j_{nn'}|²/4``.

Each ``A^j`` is one GEMM restricted to the ``r = d_{k+1}(k+1)/N`` states on which
``S^+_j`` acts (``S^+_j`` has a single 1 per column), and the in-sector ``S^z_j`` elements
``V_kᵀ P V_k`` use the smaller of the spin-up/spin-down subsets; that halves the work of
the plain ``V_{k+1}ᵀ S V_k`` products.

Rates (``W[j, i]`` = rate ``i → j``, the engine's convention; lab-frame energies
``ε_n = ε'_n + ω_e M_n`` as Eq. (17) requires):

- bath ``i → j``: ``(2/T1e) h_β(ε_i − ε_j) Σ_α |<j|S^α|i>|²`` with
  ``h_β(x) = e^{βx}/(1 + e^{βx})``, the energy *released to the lattice* as argument:
  Eq. (12) prints ``h_β(Δ_{n,n'})`` without fixing the sign; this is the reading for
  which the rates obey detailed balance, ``W_{i→j}/W_{j→i} = e^{−β(ε_j − ε_i)}``, and
  ``ω_1 = 0`` gives exactly the Gibbs state (test ``test_gibbs_without_microwaves``).
- microwaves (both directions): ``4 ω_1² T2e |<j|S^x|i>|² / (1 + T2e² (|ε_j − ε_i| − ω_MW)²)``.

The chain is block-tridiagonal in the sectors, so its stationary state is found with the
engine's :func:`jaxspin.stationary_block_tridiagonal` (never a dense ``2^{N+1}`` matrix).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._ratematrix import (
    STATIONARY_RESULTS,
    BlockTridiagonalRates,
    relaxation_rates_block_tridiagonal,
    stationary_block_tridiagonal,
)
from ._basis import basis, sector_dims
from ._ed import Spectrum, _diagonalize, magnetizations, one_realization
from ._model import PIPELINE_FIELDS, DeLucaModel, positive_int


class MatrixElements(eqx.Module):
    """Squared matrix elements between eigenstates of one realization.

    ``flip[k]`` (``(d_{k+1}, d_k)``): ``Σ_j |<n|S^+_j|n'>|²``; ``mw[k]``: ``|<n|S^+|n'>|²``
    (total ``S^+``), ``n`` in sector ``k+1``, ``n'`` in ``k``; ``zz[k]`` (``(d_k, d_k)``):
    ``Σ_j |<n|S^z_j|n'>|²`` (diagonal meaningless).
    """

    flip: tuple[Float[Array, "b a"], ...]
    mw: tuple[Float[Array, "b a"], ...]
    zz: tuple[Float[Array, "a a"], ...]


def _check_spectrum(spec: Spectrum, n_spins: int, nucleus: bool) -> None:
    if not isinstance(spec, Spectrum):
        raise TypeError(f"`spec` must be a Spectrum; got {type(spec).__name__}.")
    dims = sector_dims(n_spins, nucleus)
    got = tuple(v.shape for v in spec.vectors)
    want = tuple((d, d) for d in dims)
    if got != want or tuple(e.shape for e in spec.energies) != tuple((d,) for d in dims):
        raise ValueError(
            f"`spec` does not belong to N = {n_spins} spins (nucleus={nucleus}): eigenvector "
            f"blocks {got}, expected {want} (one realization; vmap over a batch)."
        )


def matrix_elements(spec: Spectrum, n_spins: int, *, nucleus: bool = True) -> MatrixElements:
    """:class:`MatrixElements` of one realization from its :class:`Spectrum` (checked: the
    sector shapes of ``spec`` match ``n_spins``, an int >= 1)."""
    n_spins = positive_int(n_spins)
    _check_spectrum(spec, n_spins, nucleus)
    b = basis(n_spins, nucleus)
    flip, mw, zz = [], [], []
    for k in range(n_spins):
        dst, src = b.raising(k)
        f, m = pair_elements(spec.vectors[k], spec.vectors[k + 1], dst, src)
        flip.append(f)
        mw.append(m)
    for k in range(n_spins + 1):
        zz.append(sector_zz(spec.vectors[k], b.sz_subsets(k)))
    return MatrixElements(tuple(flip), tuple(mw), tuple(zz))


def _transposed(X):
    """``Xᵀ`` as a materialized array. XLA:CPU runs a product whose left operand is a
    transposed view (contracting its first axis) at about half the GEMM rate; copying the
    transpose first (``O(r d)``, against ``O(r d²)`` for the product) restores it (measured:
    N = 12 sector pair 2.9 s → 1.8 s on one core)."""
    return jax.lax.optimization_barrier(X.T)


def pair_elements(Va, Vb, dst, src):
    """``(Σ_j |A^j|², |Σ_j A^j|²)`` between sectors ``k`` (eigenvectors ``Va``) and ``k+1``
    (``Vb``), ``A^j = V_{k+1}[dst_j]ᵀ V_k[src_j]`` (``dst, src``: :meth:`Basis.raising`)."""

    def step(carry, idx):
        s2, s1 = carry
        d, s = idx
        A = _transposed(Vb[d]) @ Va[s]  # <n|S^+_j|n'> for all n in k+1, n' in k
        return (s2 + A * A, s1 + A), None

    zeros = jnp.zeros((Vb.shape[0], Va.shape[0]), Va.dtype)
    (s2, s1), _ = jax.lax.scan(step, (zeros, zeros), (dst, src))
    return s2, s1 * s1


def sector_zz(V, subsets):
    """``Σ_j |<n|S^z_j|n'>|²`` inside one sector (off-diagonal entries are the ones used);
    ``subsets``: :meth:`Basis.sz_subsets`."""
    if subsets.shape[1] == 0:
        return jnp.zeros_like(V)
    return _sum_sz_squares(V, subsets)


def _sum_sz_squares(V, subsets):
    """``Σ_j (V_jᵀ V_j)²`` elementwise, ``V_j = V[subsets[j]]``. ``V_jᵀ V_j`` is symmetric: for
    large sectors only the blocks (11), (12), (22) of a 2×2 split are formed (3/4 of the
    work of the full product)."""
    V = jnp.asarray(V)
    d = V.shape[1]
    if d < 128:

        def step(acc, idx):
            P = V[idx]
            C = _transposed(P) @ P
            return acc + C * C, None

        acc, _ = jax.lax.scan(step, jnp.zeros_like(V), subsets)
        return acc
    h = d // 2

    def step2(acc, idx):
        P = V[idx]
        P1, P2 = P[:, :h], P[:, h:]
        T1, T2 = _transposed(P1), _transposed(P2)
        C11, C12, C22 = T1 @ P1, T1 @ P2, T2 @ P2
        return (acc[0] + C11 * C11, acc[1] + C12 * C12, acc[2] + C22 * C22), None

    z = lambda a, b: jnp.zeros((a, b), V.dtype)
    (a11, a12, a22), _ = jax.lax.scan(step2, (z(h, h), z(h, d - h), z(d - h, d - h)), subsets)
    return jnp.block([[a11, a12], [a12.T, a22]])


def rate_blocks(
    model: DeLucaModel, spec: Spectrum, elements: MatrixElements
) -> BlockTridiagonalRates:
    """Bath Eq. (12) plus microwave Eq. (16) rates of one realization, block by block
    [1/µs] (see the module docstring for the conventions).

    Checked: ``model`` is one realization with valid parameters (``T1e``, ``T2e`` > 0,
    ...: :class:`Parameters`; ``ValueError`` now, or ``eqx.error_if`` when traced), and
    ``spec``/``elements`` have its sector shapes."""
    model = one_realization(model, PIPELINE_FIELDS)
    _check_spectrum(spec, model.n_spins, True)
    if not isinstance(elements, MatrixElements):
        raise TypeError(f"`elements` must be a MatrixElements; got {type(elements).__name__}.")
    want = tuple(v.shape for v in spec.vectors)
    if tuple(z.shape for z in elements.zz) != want or len(elements.flip) != model.n_spins:
        raise ValueError("`elements` do not belong to `spec` (different sector shapes).")
    return _rate_blocks(model, spec, elements)


def _rate_blocks(model, spec, elements):
    p = model.params
    n = model.n_spins
    diag = [diag_rates(p, spec.energies[k], elements.zz[k]) for k in range(n + 1)]
    lower, upper = [], []
    for k in range(n):
        lo, up = pair_rates(
            p, spec.energies[k], spec.energies[k + 1], elements.flip[k], elements.mw[k]
        )
        lower.append(lo)
        upper.append(up)
    return BlockTridiagonalRates(diag, lower, upper)


def _h(p, x):
    return jax.nn.sigmoid(p.beta * x)  # h_β(x) = e^{βx}/(1 + e^{βx})


def diag_rates(p, e, zz):
    """Bath rates inside one sector (``e``: its ``ε'_n``, ``zz``: :func:`sector_zz`) [1/µs]."""
    released = e[None, :] - e[:, None]  # [j, i]: ε_i − ε_j (same M)
    return (2.0 / p.T1e) * _h(p, released) * zz


def pair_rates(p, ea, eb, flip, mw):
    """``(lower, upper)`` rates between sectors ``k`` (energies ``ea``) and ``k+1`` (``eb``):
    bath plus microwaves, ``k → k+1`` and ``k+1 → k`` [1/µs]."""
    delta_mw = p.omega_mw - p.omega_e  # microwave detuning from ω_e
    gap = eb[:, None] - ea[None, :]  # ε'_n − ε'_n' (n in k+1, n' in k)
    # |ε_n − ε_n'| − ω_MW = ω_e + gap − ω_MW  (ω_e ≫ every other scale)
    lorentz = 1.0 / (1.0 + (p.T2e * (gap - delta_mw)) ** 2)
    w_mw = p.omega_1**2 * p.T2e * mw * lorentz  # 4 ω1² T2e |S^+|²/4
    # |S^x_j|² + |S^y_j|² = |S^+_j|²/2, times 2/T1e:
    up = (1.0 / p.T1e) * _h(p, -(p.omega_e + gap)) * flip
    down = (1.0 / p.T1e) * _h(p, p.omega_e + gap) * flip
    return up + w_mw, (down + w_mw).T


class SteadyState(eqx.Module):
    """Stationary state of Eq. (11) for one realization (eigenstates numbered sector by
    sector, ``k = 0..N``, ascending energy inside a sector).

    - ``p`` (``(n,)``): stationary probabilities ``p_n`` of the eigenstates;
    - ``energies`` (``(n,)``): ``ε'_n`` = eigenvalue of ``H − ω_e S^z`` [rad/µs] (lab-frame
      energy ``ε_n = ε'_n + ω_e M_n``);
    - ``magnetization`` (``(n,)``): total electron ``M_n``;
    - ``iz`` (``(n,)``): ``<n|I^z|n>``; ``sz`` (``(n, N)``): ``<n|S^z_i|n>``;
    - ``nuclear_polarization``: ``P_n = 2 Σ_n p_n <n|I^z|n>`` (Eq. (26) with the factor 2
      that makes ``P_n = tanh(βω_n/2)`` at equilibrium, as Eq. (1) requires);
    - ``electron_polarization`` (``(N,)``): ``P_i = 2 Σ_n p_n <n|S^z_i|n>`` (``−tanh(βω/2)``
      at equilibrium, the sign convention of Eq. (B12));
    - ``result``: :class:`jaxspin.STATIONARY_RESULTS` code of the stationary solve.
    """

    p: Float[Array, " n"]
    energies: Float[Array, " n"]
    magnetization: Float[Array, " n"]
    iz: Float[Array, " n"]
    sz: Float[Array, "n N"]
    nuclear_polarization: Float[Array, ""]
    electron_polarization: Float[Array, " N"]
    result: STATIONARY_RESULTS


def diagonal_expectations(spec: Spectrum, n_spins: int, *, nucleus: bool = True):
    """``(<n|S^z_i|n>, <n|I^z|n>)`` of every eigenstate, sectors concatenated."""
    b = basis(n_spins, nucleus)
    sz, iz = [], []
    for k, sec in enumerate(b.sectors):
        s, i = sector_expectations(spec.vectors[k], sec)
        sz.append(s)
        iz.append(i)
    return jnp.concatenate(sz), jnp.concatenate(iz)


def sector_expectations(V, sec):
    """``(<n|S^z_i|n>, <n|I^z|n>)`` of the eigenstates ``V`` (columns) of sector ``sec``."""
    w = V**2  # [a, n]: weight of product state a in eigenstate n
    dt = w.dtype
    return w.T @ jnp.asarray(sec.m_e, dt), w.T @ jnp.asarray(sec.m_n, dt)


def steady_state_of(
    model: DeLucaModel, spec: Spectrum
) -> tuple[SteadyState, BlockTridiagonalRates]:
    """Stationary state and rate blocks of one realization from its spectrum."""
    n = model.n_spins
    rates = _rate_blocks(model, spec, matrix_elements(spec, n))
    st = stationary_block_tridiagonal(rates, throw=False)
    p = st.p
    sz, iz = diagonal_expectations(spec, n)
    state = SteadyState(
        p=p,
        energies=jnp.concatenate(spec.energies),
        magnetization=magnetizations(n),
        iz=iz,
        sz=sz,
        nuclear_polarization=2.0 * jnp.dot(p, iz),
        electron_polarization=2.0 * (p @ sz),
        result=st.result,
    )
    return state, rates


def steady_state_kernel(model: DeLucaModel) -> SteadyState:
    """Single-realization kernel: diagonalize, rates, stationary state, observables."""
    state, _ = steady_state_of(model, _diagonalize(model))
    return state


def slowest_relaxation_kernel(model: DeLucaModel, k: int = 1) -> Float[Array, " k"]:
    """The ``k`` slowest relaxation rates [1/µs] of Eq. (11) for one realization."""
    spec = _diagonalize(model)
    rates = _rate_blocks(model, spec, matrix_elements(spec, model.n_spins))
    return relaxation_rates_block_tridiagonal(rates, k)
