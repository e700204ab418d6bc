"""The DeLuca16 pipeline for one large realization (N = 13, 14, ...), sector by sector.

:func:`steady_state` holds every sector's eigenvectors and all matrix-element and rate
blocks at once (``spectrum_bytes``: 17 GB at N = 14), and batches realizations. Here one
realization is streamed on the host instead:

1. sectors ``k = N, N-1, ..., 0`` are diagonalized one at a time; the eigenvectors of a
   sector are kept only until the matrix elements with the next sector are formed
   (``Σ_j |<n|S^+_j|n'>|²`` and ``|<n|S^+|n'>|²``, the in-sector bath rates, ``<S^z_i>``,
   ``<I^z>``), then dropped, so at most two sectors' eigenvectors are alive;
2. for each microwave frequency, the rate blocks are formed from those elements one sector
   pair at a time and eliminated at once by
   :func:`jaxspin.stationary_block_tridiagonal_streamed` (the engine's block-tridiagonal
   elimination, never the dense ``2^{N+1}`` matrix).

The physics is that of :func:`jaxspin.deluca16.steady_state` and :func:`dnp_profile` (the
same kernels: ``pair_elements``, ``sector_zz``, ``diag_rates``, ``pair_rates``); the two
agree to rounding (``tests/deluca16/test_streamed.py``). Not differentiable and not
traceable (host loop); use the batched functions for gradients and ensembles.

Before any work :func:`streamed_estimate` gives the peak memory (refused with the number
when it does not fit, :func:`jaxspin.check_fits`) and a time estimate from the flop count
of every stage at this machine's measured GEMM and ``eigh`` rates.
"""

import dataclasses
import functools as ft
import math
import resource
import sys
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._checks import jit as filter_jit
from .._memory import available_memory_bytes, check_fits, format_bytes
from .._progress import Progress
from .._ratematrix import (
    STATIONARY_RESULTS,
    stationary_block_tridiagonal_streamed,
    streamed_block_bytes,
)
from ._basis import basis, sector_dims
from ._ed import _sector_hamiltonian, magnetizations, one_realization
from ._model import PIPELINE_FIELDS, DeLucaModel, positive_int
from ._rates import (
    SteadyState,
    diag_rates,
    pair_elements,
    pair_rates,
    sector_expectations,
    sector_zz,
)
from ._stationary import Profile, _bad_frequency


#: Memory of the accelerator named in the estimate (NVIDIA H200: 141 GB).
H200_BYTES = 141 * 10**9


@dataclasses.dataclass(frozen=True)
class StreamedEstimate:
    """Cost of :func:`steady_state_streamed` / :func:`dnp_profile_streamed` for ``n_spins``
    electrons and ``n_frequencies`` microwave frequencies, before anything is computed.

    ``peak_bytes``: float64 arrays alive at once (kept elements + the largest stage);
    ``flops``: per stage (``"ed"``, ``"elements"``, ``"solve"``); ``seconds``: per stage at
    ``rates`` (measured GEMM and ``eigh`` GFLOP/s of this machine; ``None`` if not
    calibrated); ``available_bytes``: memory for new arrays now.
    """

    n_spins: int
    n_frequencies: int
    sizes: tuple[int, ...]
    peak_bytes: int
    flops: dict
    seconds: dict | None
    rates: dict | None
    available_bytes: int

    @property
    def fits(self) -> bool:
        return self.peak_bytes <= self.available_bytes

    def __str__(self) -> str:
        n = sum(self.sizes)
        lines = [
            f"[DeLuca16] streamed pipeline, N = {self.n_spins} ({n} eigenstates, largest "
            f"sector {max(self.sizes)}), {self.n_frequencies} frequency(ies):",
            f"  peak memory ≈ {format_bytes(self.peak_bytes)} (available here: "
            f"{format_bytes(self.available_bytes)}; "
            f"{'fits' if self.fits else 'does NOT fit'}; on a 141 GB H200: "
            f"{'fits' if self.peak_bytes <= H200_BYTES else 'does not fit'})",
        ]
        work = ", ".join(f"{k} {v / 1e12:.3g}" for k, v in self.flops.items())
        lines.append(f"  work [TFLOP]: {work}")
        if self.seconds is not None:
            total = sum(self.seconds.values())
            per = ", ".join(f"{k} {v:.3g} s" for k, v in self.seconds.items())
            r = self.rates
            lines.append(
                f"  time ≈ {total:.3g} s here ({per}; measured GEMM {r['gemm']:.3g}, eigh "
                f"{r['eigh']:.3g} GFLOP/s)"
            )
        return "\n".join(lines)


def _eigh_flops(d: int) -> float:
    return 9.0 * d**3  # tridiagonalization, divide and conquer, back-transformation


@ft.cache
def _machine_rates(platform: str) -> dict:
    """GEMM and eigh GFLOP/s measured on this machine (a 1024² GEMM, best of 3, and a 1536²
    eigh, best of 2, after a warm-up: large enough for the memory-bound tridiagonalization
    of large sectors to show; about 2 s); cached per process. A loaded machine measures low
    rates, so the estimate is then pessimistic."""
    del platform
    rng = np.random.default_rng(0)
    a = jnp.asarray(rng.standard_normal((1024, 1024)))
    s = jnp.asarray(rng.standard_normal((1536, 1536)))
    s = s + s.T
    gemm = jax.jit(lambda x: x @ x)
    eig = jax.jit(jnp.linalg.eigh)
    out = {}
    for name, fn, x, flops, reps in (
        ("gemm", gemm, a, 2 * 1024**3, 3),
        ("eigh", eig, s, _eigh_flops(1536), 2),
    ):
        jax.block_until_ready(fn(x))
        best = math.inf
        for _ in range(reps):
            t0 = time.perf_counter()
            jax.block_until_ready(fn(x))
            best = min(best, time.perf_counter() - t0)
        out[name] = flops / best / 1e9
    return out


def _plan(n_spins: int):
    """Per-stage flop counts and peak bytes (float64) of the streamed pipeline."""
    b = basis(n_spins, True)
    d = sector_dims(n_spins, True)
    n = sum(d)
    ed = sum(_eigh_flops(x) for x in d)
    el = 0.0
    for k in range(n_spins + 1):
        r = b.sz_subsets(k).shape[1]
        el += (0.75 if d[k] >= 128 else 1.0) * n_spins * 2 * r * d[k] ** 2
        el += 2 * (n_spins + 1) * d[k] ** 2  # <S^z_i>, <I^z>
    for k in range(n_spins):
        dst, _ = b.raising(k)
        el += 2.0 * dst.size * d[k + 1] * d[k]
    solve = sum(
        2 / 3 * d[k + 1] ** 3 + 2 * d[k + 1] ** 2 * d[k] + 2 * d[k] ** 2 * d[k + 1]
        for k in range(n_spins)
    )
    pairs = list(zip(d[:-1], d[1:], strict=True))
    nb = sum(x * y for x, y in pairs)
    sq = sum(x * x for x in d)
    kept = 2 * nb + sq + n * (n_spins + 3)
    # elements stage at pair (k, k+1): V_{k+1} kept, H_k, V_k and eigh's workspace, the two
    # accumulators and one product, the gathered rows; the in-sector S^z products
    transient = max(
        y * y + 4 * x * x + 3 * x * y + (x + y) * (y // 2 + 1) for x, y in pairs + [(d[0], d[0])]
    )
    transient = max(transient, streamed_block_bytes(tuple(d)) // 8)
    return d, {"ed": ed, "elements": el, "solve": solve}, 8 * (kept + transient)


def streamed_estimate(
    n_spins: int, n_frequencies: int = 1, *, calibrate: bool = True
) -> StreamedEstimate:
    """:class:`StreamedEstimate` for ``n_spins`` (an int >= 1) and ``n_frequencies``
    (>= 1); ``calibrate``: measure this machine's GEMM/eigh rates (about 2 s, once per
    process) to turn flops into seconds."""
    n_spins = positive_int(n_spins)
    n_frequencies = positive_int(n_frequencies, "n_frequencies")
    sizes, flops, peak = _plan(n_spins)
    flops = dict(flops, solve=flops["solve"] * n_frequencies)
    seconds = rates = None
    if calibrate:
        rates = _machine_rates(jax.default_backend())
        seconds = {
            "ed": flops["ed"] / rates["eigh"] / 1e9,
            "elements": flops["elements"] / rates["gemm"] / 1e9,
            "solve": flops["solve"] / rates["gemm"] / 1e9,
        }
    return StreamedEstimate(
        n_spins, n_frequencies, sizes, peak, flops, seconds, rates, available_memory_bytes()
    )


@dataclasses.dataclass(frozen=True)
class StreamedRun:
    """What a streamed run returns: ``result`` (a :class:`SteadyState` or :class:`Profile`),
    wall ``seconds`` per stage (``"ed"``, ``"elements"``, ``"rates"``, ``"solve"``), the
    ``estimate`` printed before the run, and ``peak_rss_bytes``: the process's peak resident
    memory at the end (``getrusage``; includes whatever the process did before)."""

    result: object
    seconds: dict
    estimate: StreamedEstimate
    peak_rss_bytes: int


# ---------------------------------------------------------------------------------------
# Stages (each jitted per sector shape; k is static)
# ---------------------------------------------------------------------------------------
@filter_jit
def _eigh(model, k: int):
    return jnp.linalg.eigh(_sector_hamiltonian(model, k))


@filter_jit
def _in_sector(model, e, V, k: int):
    b = basis(model.n_spins, True)
    sz, iz = sector_expectations(V, b.sectors[k])
    return sz, iz, diag_rates(model.params, e, sector_zz(V, b.sz_subsets(k)))


@filter_jit
def _pair(Va, Vb, dst, src):
    return pair_elements(Va, Vb, dst, src)


@filter_jit
def _rates_at(params, omega_mw, ea, eb, flip, mw):
    params = eqx.tree_at(lambda p: p.omega_mw, params, omega_mw)
    return pair_rates(params, ea, eb, flip, mw)


class _Elements(eqx.Module):
    energies: tuple
    diag: tuple  # in-sector bath rates (frequency independent)
    flip: tuple
    mw: tuple
    sz: Array
    iz: Array


def _timed(seconds, stage, fn, *args):
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    seconds[stage] += time.perf_counter() - t0
    return out


def _elements(model, seconds, bar) -> _Elements:
    n = model.n_spins
    b = basis(n, True)
    energies, diag, sz, iz = [None] * (n + 1), [None] * (n + 1), [None] * (n + 1), [None] * (n + 1)
    flip, mw = [None] * n, [None] * n
    V_above = None
    for k in range(n, -1, -1):
        e, V = _timed(seconds, "ed", _eigh, model, k)
        sz[k], iz[k], diag[k] = _timed(seconds, "elements", _in_sector, model, e, V, k)
        energies[k] = e
        if V_above is not None:
            dst, src = b.raising(k)
            flip[k], mw[k] = _timed(seconds, "elements", _pair, V, V_above, dst, src)
        V_above = V  # the eigenvectors of sector k+1 are dropped here
        del V
        bar.update(1, f"sector {k}")
    return _Elements(
        tuple(energies),
        tuple(diag),
        tuple(flip),
        tuple(mw),
        jnp.concatenate(sz),
        jnp.concatenate(iz),
    )


def _solve(model, el: _Elements, omega_mw, seconds, throw):
    n = model.n_spins
    sizes = tuple(int(e.shape[0]) for e in el.energies)

    def blocks(k):
        if k == n:
            return el.diag[k], None, None
        lo, up = _timed(
            seconds, "rates", _rates_at, model.params, omega_mw, el.energies[k],
            el.energies[k + 1], el.flip[k], el.mw[k],
        )  # fmt: skip
        return el.diag[k], lo, up

    t0 = time.perf_counter()
    before = seconds["rates"]
    st = stationary_block_tridiagonal_streamed(blocks, sizes, throw=throw)
    jax.block_until_ready(st.p)
    seconds["solve"] += time.perf_counter() - t0 - (seconds["rates"] - before)
    return st


def _prepare(model, n_frequencies, progress):
    model = one_realization(model, PIPELINE_FIELDS)
    est = streamed_estimate(model.n_spins, n_frequencies, calibrate=progress)
    if progress:
        print(est, file=sys.stderr, flush=True)
    check_fits(
        est.peak_bytes,
        f"[DeLuca16] streamed pipeline, N = {model.n_spins} electron spins "
        f"({sum(est.sizes)} states, largest sector {max(est.sizes)})",
    )
    return model, est


def _peak_rss() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def dnp_profile_streamed(
    model: DeLucaModel, omega_mw: Float[Array, " F"], *, progress: bool = True
) -> StreamedRun:
    """DNP profile [DeLuca16, Fig. 2] of one realization, streamed sector by sector (see the
    module docstring): the same result as :func:`jaxspin.deluca16.dnp_profile` for one
    realization, in memory that grows like the matrix elements instead of the whole
    pipeline (N = 14: about 7 GB instead of 17 GB).

    ``omega_mw``: microwave frequencies [rad/µs] (1-D, finite, > 0). Checked first: ``model``
    is one valid realization (``ValueError``), the frequencies, and the memory
    (:class:`jaxspin.MemoryBudgetError` with the number). ``progress``: print the estimate
    and a progress line per sector and frequency (stderr). Entries are NaN where the
    stationary state is not unique.

    Returns :class:`StreamedRun` whose ``result`` is a :class:`Profile`.
    """
    omega_mw = np.asarray(omega_mw, dtype=np.float64)
    if omega_mw.ndim != 1 or omega_mw.size == 0:
        raise ValueError(f"`omega_mw` must be 1-D and non-empty; got shape {omega_mw.shape}.")
    if np.any(np.asarray(_bad_frequency(omega_mw))):
        raise ValueError("`omega_mw` must be finite and > 0 [rad/µs].")
    model, est = _prepare(model, omega_mw.size, progress)
    seconds = {"ed": 0.0, "elements": 0.0, "rates": 0.0, "solve": 0.0}
    n = model.n_spins
    with Progress(n + 1 + omega_mw.size, "deluca16 streamed", "stages", enabled=progress) as bar:
        el = _elements(model, seconds, bar)
        pn, pe, ps = [], [], []
        for w in omega_mw:
            st = _solve(model, el, jnp.asarray(w), seconds, False)
            ok = st.result == STATIONARY_RESULTS.successful
            p = jnp.where(ok, st.p, jnp.nan)
            pn.append(2.0 * jnp.dot(p, el.iz))
            pe.append(2.0 * (p @ el.sz))
            ps.append(p)
            bar.update(1, f"ω_mw {w:.6g}")
    prof = Profile(
        jnp.stack(pn),
        jnp.stack(pe),
        jnp.stack(ps),
        jnp.concatenate(el.energies),
        magnetizations(n),
        jnp.asarray(omega_mw),
    )
    return StreamedRun(prof, seconds, est, _peak_rss())


def steady_state_streamed(model: DeLucaModel, *, progress: bool = True) -> StreamedRun:
    """Stationary state of Eq. (11) of one realization at its own ``params.omega_mw``,
    streamed sector by sector (the same result as :func:`jaxspin.deluca16.steady_state`;
    checks as :func:`dnp_profile_streamed`). A stationary state that is not unique raises
    (``reducible``).

    Returns :class:`StreamedRun` whose ``result`` is a :class:`SteadyState`.

    Example:
        >>> import jax, jaxspin.deluca16 as dl
        >>> model = dl.random_model(jax.random.PRNGKey(0), 4, dl.table1(omega_1_mhz=0.0))
        >>> run = dl.steady_state_streamed(model, progress=False)
        >>> round(float(run.result.nuclear_polarization), 7)   # as dl.steady_state
        0.0005782
    """
    model, est = _prepare(model, 1, progress)
    seconds = {"ed": 0.0, "elements": 0.0, "rates": 0.0, "solve": 0.0}
    n = model.n_spins
    with Progress(n + 2, "deluca16 streamed", "stages", enabled=progress) as bar:
        el = _elements(model, seconds, bar)
        st = _solve(model, el, model.params.omega_mw, seconds, True)
        bar.update(1, "solved")
    p = st.p
    state = SteadyState(
        p=p,
        energies=jnp.concatenate(el.energies),
        magnetization=magnetizations(n),
        iz=el.iz,
        sz=el.sz,
        nuclear_polarization=2.0 * jnp.dot(p, el.iz),
        electron_polarization=2.0 * (p @ el.sz),
        result=st.result,
    )
    return StreamedRun(state, seconds, est, _peak_rss())
