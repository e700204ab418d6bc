"""The nuclear bath in the collective (Dicke) basis ``|I, I_z⟩`` [Latta09, Sec. II, Eq. (12)].

With uniform couplings ``A_i = A/N`` every nuclear operator of the model is collective
(``I_±``, ``I_z``), so the total spin ``I`` is conserved and the bath is a mixture of
independent *ladders* ``I_z = −I, ..., I``. Ladder ``I`` occurs ``D(I)`` times (the
permutation-group multiplicity); starting from the fully mixed state every copy of ladder
``I`` carries the weight ``(2I+1)/(2I_n+1)^N``, so ladder ``I`` as a whole has weight

    w_I = D(I) (2I + 1) / (2I_n + 1)^N,       Σ_I w_I = 1,

[Latta09, Sec. II: "each I ... weighted by the number D(I)"]. For spin-½ nuclei
``D(I) = C(N, N/2 − I) − C(N, N/2 − I − 1)``. For spin ``I_n > ½`` the ladders are the same
SU(2) ladders (the matrix elements of ``I_±`` do not change) and only the multiplicities do:
``D(I) = c(I) − c(I + 1)`` with ``c(M)`` the number of product states with ``Σ m_i = M``
(coefficients of ``(x^{−I_n} + ... + x^{I_n})^N``), ``I ≤ N I_n``.

**Truncation.** Typical ladders have ``I ~ √N``; the weights fall off like
``exp(−3 I² / (2 N I_n(I_n+1)))``. :class:`DickeSpace` keeps the ladders ``I ≤ I_cut``
with ``Σ_{I > I_cut} w_I ≤ tail`` (renormalised); since a ladder ``I ≤ I_cut`` never
reaches ``|I_z| > I_cut``, the error of any probability is bounded by ``tail_weight``.
"""

import functools as ft
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float
from scipy import signal, special

from .._inputs import check_value
from .._memory import check_fits
from .._spin import check_half_integer


# --------------------------------------------------------------------------------------
# Multiplicities
# --------------------------------------------------------------------------------------
def _check_spin(n_nuclei: int, spin: float) -> None:
    if isinstance(n_nuclei, bool) or not isinstance(n_nuclei, int | np.integer) or n_nuclei < 1:
        raise ValueError(f"`n_nuclei` must be a positive integer; got {n_nuclei!r}.")
    check_half_integer(spin, "spin", what="(I_n ≥ 1/2)")


def _check_weights_fit(n_nuclei: int, spin: float) -> None:
    """The ladder weights are computed over all ``2 N I_n + 1`` values of ``I_z`` (about ten
    float64 temporaries each): refuse, with the number, a bath whose tables do not fit."""
    count = 2 * n_nuclei * spin + 1
    check_fits(
        80 * count,
        f"the Dicke ladder weights of N = {n_nuclei} spin-{spin:g} nuclei ({count:.3g} I_z values)",
        device=jax.devices("cpu")[0],
    )


def total_spins(n_nuclei: int, spin: float = 0.5) -> np.ndarray:
    """Total spins ``I`` of ``N`` spin-``I_n`` nuclei, ascending: ``I_min, ..., N I_n`` with
    ``I_min = 0`` (integer ``N I_n``) or ``1/2``."""
    _check_spin(n_nuclei, spin)
    check_fits(
        8 * (n_nuclei * spin + 1),
        f"the total spins of N = {n_nuclei} nuclei",
        device=jax.devices("cpu")[0],
    )
    i_max = n_nuclei * spin
    i_min = i_max - math.floor(i_max)
    return np.arange(i_min, i_max + 0.5, 1.0)


def multiplicities_exact(n_nuclei: int, spin: float = 0.5) -> dict[float, int]:
    """Exact ``D(I)`` as Python integers (polynomial power; fine for ``N (2I_n+1) ≲ 10⁴``).

    ``Σ_I D(I) (2I+1) = (2I_n+1)^N`` exactly (``tests/latta09/test_dicke.py``). The
    ``N (2I_n) + 1`` integers of up to ``N log2(2I_n+1)`` bits must fit in memory
    (:class:`jaxspin.MemoryBudgetError` with the size otherwise).
    """
    _check_spin(n_nuclei, spin)
    d = int(round(2 * spin)) + 1
    count = n_nuclei * (d - 1) + 1
    check_fits(
        2 * count * (28 + n_nuclei * math.log2(d) / 8),
        f"the exact multiplicities of N = {n_nuclei} spin-{spin:g} nuclei",
        device=jax.devices("cpu")[0],
    )
    coeffs = [1]
    for _ in range(n_nuclei):  # multiply by (1 + x + ... + x^(d-1))
        new = [0] * (len(coeffs) + d - 1)
        for k, c in enumerate(coeffs):
            for s in range(d):
                new[k + s] += c
        coeffs = new
    # coeffs[k] counts states with M = k - N*spin.
    out = {}
    for i_val in total_spins(n_nuclei, spin):
        k = int(round(i_val + n_nuclei * spin))
        c_here = coeffs[k]
        c_next = coeffs[k + 1] if k + 1 < len(coeffs) else 0
        out[float(i_val)] = c_here - c_next
    return out


def log_ladder_weights(n_nuclei: int, spin: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """``(I, log w_I)`` for all total spins (ascending), ``w_I = D(I)(2I+1)/(2I_n+1)^N``.

    Spin ½: closed form with ``lgamma`` (relative accuracy ~1e-13 for any ``N``). Spin
    ``I_n > ½``: exact integers for ``N (2I_n + 1) ≤ 4000``, otherwise FFT counting in
    floating point (absolute accuracy ~1e-12 in ``w_I``; ladders whose ``D(I)`` is below
    1e-13 of the largest count are rounding noise there and get ``w_I = 0``).
    """
    _check_spin(n_nuclei, spin)
    _check_weights_fit(n_nuclei, spin)
    spins = total_spins(n_nuclei, spin)
    if abs(spin - 0.5) < 1e-12:
        k = n_nuclei / 2 - spins  # C(N, k) (2I+1)/(N/2+I+1) = D(I)
        logd = (
            special.gammaln(n_nuclei + 1)
            - special.gammaln(k + 1)
            - special.gammaln(n_nuclei - k + 1)
            + np.log(2 * spins + 1)
            - np.log(n_nuclei / 2 + spins + 1)
        )
        logw = logd + np.log(2 * spins + 1) - n_nuclei * math.log(2.0)
        return spins, logw
    d = int(round(2 * spin)) + 1
    if n_nuclei * d <= 4000:
        exact = multiplicities_exact(n_nuclei, spin)
        total = d**n_nuclei
        logw = np.array(
            [
                math.log(exact[float(i)] * (2 * i + 1)) - math.log(total)
                if exact[float(i)] > 0
                else -np.inf
                for i in spins
            ]
        )
        return spins, logw
    counts, log_scale = _fft_counts(n_nuclei, d)
    idx = np.round(spins + n_nuclei * spin).astype(int)
    c_here = counts[idx]
    c_next = np.append(counts, 0.0)[idx + 1]
    dd = c_here - c_next
    # Below ~1e-13 of the largest count the FFT values are rounding noise: drop those ladders.
    dd = np.where(dd > 1e-13, dd, 0.0)
    with np.errstate(divide="ignore"):
        logw = np.log(dd) + log_scale + np.log(2 * spins + 1) - n_nuclei * math.log(d)
    return spins, logw


def _fft_counts(n_nuclei: int, d: int) -> tuple[np.ndarray, float]:
    """Coefficients of ``(1 + x + ... + x^(d-1))^N`` as ``(c / scale, log scale)``."""
    result = np.ones(1)
    log_result = 0.0
    power = np.ones(d)
    log_power = 0.0
    n = n_nuclei
    while True:
        if n & 1:
            result = np.clip(signal.fftconvolve(result, power), 0.0, None)
            s = result.max()
            result = result / s
            log_result += log_power + math.log(s)
        n >>= 1
        if not n:
            break
        power = np.clip(signal.fftconvolve(power, power), 0.0, None)
        s = power.max()
        power = power / s
        log_power = 2 * log_power + math.log(s)
    return result, log_result


@ft.lru_cache(maxsize=32)
def _cached_weights(n_nuclei: int, spin: float, tail: float):
    spins, logw = log_ladder_weights(n_nuclei, spin)
    logw = logw - special.logsumexp(logw)
    w = np.exp(logw)
    tails = np.concatenate([np.cumsum(w[::-1])[::-1][1:], [0.0]])  # Σ_{I' > I} w_I'
    keep = int(np.argmax(tails <= tail))  # the first ladder whose tail is small enough
    spins_k = spins[: keep + 1]
    logw_k = logw[: keep + 1] - special.logsumexp(logw[: keep + 1])
    for a in (spins_k, logw_k):
        a.flags.writeable = False
    return spins_k, logw_k, float(tails[keep])


@ft.lru_cache(maxsize=32)
def _cached_thermal_i2(n_nuclei: int, spin: float, tail: float) -> np.ndarray:
    spins, logw, _ = _cached_weights(n_nuclei, spin, tail)
    logd = logw - np.log(2 * spins + 1)  # ∝ D(I)
    with np.errstate(divide="ignore"):
        log_num = logd + np.log(spins * (spins + 1))
    rev = lambda x: np.logaddexp.accumulate(x[::-1])[::-1]
    ratio = np.exp(rev(log_num) - rev(logd))
    i_cut = spins[-1]
    m = np.arange(-i_cut, i_cut + 0.5, 1.0)
    out = ratio[np.round(np.abs(m) - spins[0]).astype(int)]
    out.flags.writeable = False
    return out


# --------------------------------------------------------------------------------------
# The truncated ladder set
# --------------------------------------------------------------------------------------
class DickeSpace(eqx.Module):
    """The ladders ``I = I_min, ..., I_cut`` of ``N`` spin-``I_n`` nuclei and their weights.

    A static description (hashable; its arrays are NumPy constants computed once and cached):
    ``n_nuclei``, ``spin`` (``I_n``), ``tail`` (truncation bound). Derived: ``spins``
    ``(L,)`` = the kept ladders' ``I``; ``log_weights`` ``(L,)`` (renormalised over the kept
    ladders); ``m`` ``(K,)`` = ``I_z = −I_cut, ..., I_cut`` (``K = 2 I_cut + 1``);
    ``tail_weight`` = the dropped weight ``Σ_{I > I_cut} w_I ≤ tail``.

    Construction refuses a non-integer or non-positive ``n_nuclei``, a ``spin`` that is not
    a positive half-integer, ``tail`` outside ``[0, 1)`` (``ValueError``), and a bath whose
    weight tables (about 80 bytes per ``I_z`` value, ``2 N I_n + 1`` of them) would not fit
    in host memory (:class:`jaxspin.MemoryBudgetError`, with the size).

    Example:
        >>> from jaxspin.latta09 import DickeSpace
        >>> space = DickeSpace(1000)
        >>> space.i_cut, space.num_m, space.tail_weight < 1e-12
        (120.0, 241, True)
    """

    n_nuclei: int = eqx.field(static=True)
    spin: float = eqx.field(static=True)
    tail: float = eqx.field(static=True)

    def __init__(self, n_nuclei: int, spin: float = 0.5, *, tail: float = 1e-12):
        _check_spin(n_nuclei, spin)
        if not 0.0 <= tail < 1.0:
            raise ValueError(f"`tail` must be in [0, 1); got {tail!r}.")
        _check_weights_fit(int(n_nuclei), float(spin))
        self.n_nuclei = int(n_nuclei)
        self.spin = float(spin)
        self.tail = float(tail)

    def _weights(self):
        return _cached_weights(self.n_nuclei, self.spin, self.tail)

    @property
    def spins(self) -> np.ndarray:
        """Kept total spins ``I`` (ascending), ``(L,)``."""
        return self._weights()[0]

    @property
    def log_weights(self) -> np.ndarray:
        """``log w_I`` of the kept ladders (normalised over them), ``(L,)``."""
        return self._weights()[1]

    @property
    def tail_weight(self) -> float:
        """Weight of the dropped ladders ``Σ_{I > I_cut} w_I`` (before renormalising)."""
        return self._weights()[2]

    @property
    def i_cut(self) -> float:
        """Largest kept total spin."""
        return float(self.spins[-1])

    @property
    def i_min(self) -> float:
        """Smallest total spin (0 or ½)."""
        return float(self.spins[0])

    @property
    def m(self) -> np.ndarray:
        """``I_z = −I_cut, ..., I_cut``, ``(K,)``."""
        return np.arange(-self.i_cut, self.i_cut + 0.5, 1.0)

    @property
    def num_ladders(self) -> int:
        """Number ``L`` of kept ladders."""
        return self.spins.shape[0]

    @property
    def num_m(self) -> int:
        """Number ``K = 2 I_cut + 1`` of ``I_z`` values."""
        return int(round(2 * self.i_cut)) + 1

    @property
    def max_polarization_spin(self) -> float:
        """``N I_n``: ``I_z`` of the fully polarised bath."""
        return self.n_nuclei * self.spin

    def ladder_index_of_abs_m(self) -> np.ndarray:
        """For every ``m``: the index of the ladder ``I = |m|`` (the smallest containing it)."""
        return np.round(np.abs(self.m) - self.i_min).astype(int)

    def shell_indices(self) -> tuple[np.ndarray, np.ndarray]:
        """Indices into ``m`` of ``I_z = +I`` and ``I_z = −I`` for every kept ladder."""
        plus = np.round(self.i_cut + self.spins).astype(int)
        minus = np.round(self.i_cut - self.spins).astype(int)
        return plus, minus

    def ladder_mask(self) -> np.ndarray:
        """``(L, K)`` booleans: ``|m| ≤ I`` (the states of each ladder)."""
        return np.abs(self.m)[None, :] <= self.spins[:, None] + 1e-9

    def thermal_i2_given_m(self) -> np.ndarray:
        """``E[I(I+1) | I_z = m]`` in the fully mixed state, for every ``m``, ``(K,)``.

        ``Σ_{I ≥ |m|} D(I) I(I+1) / Σ_{I ≥ |m|} D(I)`` over the kept ladders; for spin ½
        and no truncation it equals ``N/2 + m²`` exactly (``⟨I_x² + I_y²⟩ = N/2`` in every
        ``I_z`` sector; ``tests/latta09/test_dicke.py``).
        """
        return _cached_thermal_i2(self.n_nuclei, self.spin, self.tail)


def matrix_elements(
    spins: Float[Array, " L"], m: Float[Array, " K"]
) -> tuple[Float[Array, "L K"], Float[Array, "L K"]]:
    """``|⟨I, m ± 1| I_± |I, m⟩|² = I(I+1) − m(m ± 1)`` on every ladder, zero where ``|m| > I``
    (and, automatically, for ``I_+`` at ``m = I`` and ``I_−`` at ``m = −I``). ``spins``
    and ``m`` are 1-D (``ValueError``); ``spins`` finite and ``>= 0``, ``m`` finite
    (``ValueError``, or ``eqx.error_if`` when traced)."""
    spins, m = jnp.asarray(spins), jnp.asarray(m)
    if spins.ndim != 1 or m.ndim != 1:
        raise ValueError(f"`spins` and `m` must be 1-D; got shapes {spins.shape}, {m.shape}.")
    spins = check_value(
        spins, lambda x: ~((x >= 0) & jnp.isfinite(x)), "`spins` must be finite and >= 0."
    )
    m = check_value(m, lambda x: ~jnp.isfinite(x), "`m` contains NaN or inf.")
    return ladder_matrix_elements(spins, m)


def ladder_matrix_elements(spins, m):
    """:func:`matrix_elements` without the checks (the ladders of a :class:`DickeSpace`)."""
    ii = spins[:, None] * (spins[:, None] + 1)
    inside = jnp.abs(m)[None, :] <= spins[:, None] + 1e-9
    up = jnp.where(inside, ii - m * (m + 1), 0.0)
    down = jnp.where(inside, ii - m * (m - 1), 0.0)
    return jnp.clip(up, 0.0, None), jnp.clip(down, 0.0, None)
