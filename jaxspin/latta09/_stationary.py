"""Stationary nuclear distribution ``P(I, I_z)`` of the Dicke-ladder master equation and the
observables of [Latta09, Sec. II-III].

**Method.** (1) One batched :func:`jaxspin.steadystate` gives the conditional QD state for
every ``I_z`` of the kept range (it depends on ``I_z`` only, not on ``I``). (2) The
per-matrix-element up/down coefficients ``a(m), b(m)`` follow (:mod:`._rates`). (3) Each
ladder is a birth-death chain with ``up_I(m) = a(m) M_+(I, m)``, ``down_I(m) = b(m)
M_−(I, m)``; because ``M_+(I, m) = M_−(I, m+1)`` its stationary distribution is the common
shape ``f(m) ∝ Π a/b`` (:func:`jaxspin.birth_death_stationary` on the longest kept ladder,
in log space) restricted to ``|m| ≤ I``: ``P(I, m) = w_I f(m) / Z_I``, ``Z_I =
Σ_{|m|≤I} f(m)``. (4) The marginal is ``P(m) = f(m) Σ_{I ≥ |m|} w_I / Z_I``: two
cumulative log-sum-exps, ``O(K)`` work instead of ``O(K²)``.
``tests/latta09/test_stationary.py`` checks (3)-(4) against a per-ladder solve.

Everything is differentiable (implicit QD derivatives, log-space sums).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Complex, Float

from .._checks import jit
from .._ratematrix import birth_death_stationary
from .._steady import RESULTS, AbstractSteadyStateSolver, DenseLU
from ._dicke import DickeSpace, ladder_matrix_elements
from ._dot import absorption, steadystates
from ._parameters import Latta09Params, check_params
from ._rates import (
    DIRECTIONS,
    GROUPS,
    PROCESSES,
    include_mask,
    ladder_coefficients,
    process_coefficients,
)


class NuclearSteadyState(eqx.Module):
    """Stationary state of the coupled QD-nuclear master equation for one parameter point.

    Arrays (``K`` = number of ``I_z`` values of the :class:`DickeSpace`, ``L`` ladders):
    ``m`` ``(K,)``; ``log_p`` ``(K,)`` = ``log P(I_z = m)``; ``log_shape`` ``(K,)`` = the common
    ladder shape ``log f(m)``; ``log_ladder_norm`` ``(L,)`` = ``log Z_I``; ``rho`` ``(K, 3, 3)``
    conditional QD states; ``coefficients`` ``(K, 5)`` per-matrix-element process rates
    [µeV]; ``absorption_m`` ``(K,)`` conditional absorption [µeV]; ``log_i2`` ``(K,)`` =
    ``log Σ_I P(I, m) I(I+1)``; ``result``: :class:`jaxspin.RESULTS` code of the point
    (``nuclear_steady_state(..., throw=False)``: a failed QD solve or a bad parameter gives
    NaN arrays and a code other than ``successful``). Observables are properties (units in
    their docstrings).
    A batched state (from ``jax.vmap`` or :func:`detuning_scan`) carries leading axes on
    every array; the properties then have those axes.
    """

    params: Latta09Params
    space: DickeSpace
    m: Float[Array, " K"]
    log_p: Float[Array, " K"]
    log_shape: Float[Array, " K"]
    log_ladder_norm: Float[Array, " L"]
    rho: Complex[Array, "K 3 3"]
    coefficients: Float[Array, "K 5"]
    absorption_m: Float[Array, " K"]
    log_i2: Float[Array, " K"]
    result: RESULTS

    @property
    def p(self) -> Float[Array, " K"]:
        """``P(I_z = m)`` (sums to 1)."""
        return jnp.exp(self.log_p)

    @property
    def mean_iz(self) -> Float[Array, ""]:
        """``⟨I_z⟩``."""
        return jnp.sum(self.p * self.m, axis=-1)

    @property
    def var_iz(self) -> Float[Array, ""]:
        """``⟨I_z²⟩ − ⟨I_z⟩²``."""
        return jnp.sum(self.p * (self.m - self.mean_iz[..., None]) ** 2, axis=-1)

    @property
    def polarization(self) -> Float[Array, ""]:
        """``P = ⟨I_z⟩ / (N I_n)`` (dimensionless, −1..1)."""
        return self.mean_iz / self.space.max_polarization_spin

    @property
    def overhauser_shift(self) -> Float[Array, ""]:
        """``(A/N) ⟨I_z⟩`` [µeV]: the shift of |↑⟩, i.e. the red-shift of the blue trion line."""
        return self.params.hyperfine / self.space.n_nuclei * self.mean_iz

    @property
    def overhauser_std(self) -> Float[Array, ""]:
        """Standard deviation of the Overhauser shift ``(A/N) √var(I_z)`` [µeV]."""
        return self.params.hyperfine / self.space.n_nuclei * jnp.sqrt(self.var_iz)

    @property
    def fluctuation_ratio(self) -> Float[Array, ""]:
        """``var(I_z) / var_thermal`` with ``var_thermal = N I_n (I_n+1) / 3``: < 1 means the
        Overhauser-field fluctuations are suppressed [Latta09, Sec. III]."""
        s = self.space.spin
        return self.var_iz / (self.space.n_nuclei * s * (s + 1) / 3)

    @property
    def absorption(self) -> Float[Array, ""]:
        """Mean absorption ``Σ_m P(m) (Γ + γ_hhlh) ρ_tt(m)`` [µeV]."""
        return jnp.sum(self.p * self.absorption_m, axis=-1)

    def process_rates(self) -> Float[Array, " 5"]:
        """Each process's contribution to ``d⟨I_z⟩/dt`` [µeV, i.e. spin flips per ħ/µeV] in
        this state: ``± Σ_{I,m} P(I, m) γ_k⟨Q†Q⟩ M_±(I, m)`` (order :data:`PROCESSES`).
        They sum to zero (stationarity)."""
        i2 = jnp.exp(self.log_i2)[..., None]  # Σ_I P(I, m) I(I+1)
        d = jnp.asarray(DIRECTIONS, self.m.dtype)
        m = self.m[..., None]
        m_elem = i2 - self.p[..., None] * m * (m + d)
        return jnp.sum(d * self.coefficients * m_elem, axis=-2)

    def rate_groups(self) -> dict[str, Float[Array, ""]]:
        """``dP/dt`` parts [µeV]: reverse Overhauser, Overhauser, decay (Fig. S3/S4), and total."""
        rates = self.process_rates() / self.space.max_polarization_spin
        out = {g: sum(rates[..., PROCESSES.index(n)] for n in names) for g, names in GROUPS.items()}
        out["total"] = jnp.sum(rates, axis=-1)
        return out

    def ladder_distribution(self) -> Float[Array, "L K"]:
        """``P(I, m)`` for every kept ladder (zeros outside ``|m| ≤ I``)."""
        mask = jnp.asarray(self.space.ladder_mask())
        logp = (
            self.space.log_weights[:, None]
            - self.log_ladder_norm[..., :, None]
            + self.log_shape[..., None, :]
        )
        return jnp.where(mask, jnp.exp(jnp.where(mask, logp, -jnp.inf)), 0.0)


def ladder_shape(
    space: DickeSpace, a: Float[Array, " K"], b: Float[Array, " K"]
) -> Float[Array, " K"]:
    """``log f(m)``: stationary log-distribution of the longest kept ladder (``I = I_cut``)
    with per-matrix-element coefficients ``a`` (up) and ``b`` (down)."""
    m = space.m
    i_cut = space.spins[-1:]
    m_up, m_down = ladder_matrix_elements(i_cut, m)
    up = a[:-1] * m_up[0, :-1]
    down = b[1:] * m_down[0, 1:]
    return birth_death_stationary(up, down, log=True)


def mixture(
    space: DickeSpace, log_shape: Float[Array, " K"]
) -> tuple[Float[Array, " K"], Float[Array, " L"], Float[Array, " L"], Float[Array, ""]]:
    """``(log P(m), log Z_I, log g_I, log c)`` for the ladder mixture with common shape ``f``:
    ``g_I = w_I / Z_I`` and ``c = Σ_m f(m) Σ_{I≥|m|} g_I`` (= 1 up to rounding; divided out)."""
    plus, minus = space.shell_indices()
    shell = jnp.where(
        jnp.asarray(plus == minus),
        log_shape[plus],
        jnp.logaddexp(log_shape[plus], log_shape[minus]),
    )
    log_z = jax.lax.cumlogsumexp(shell)
    log_g = space.log_weights - log_z
    log_big_g = jax.lax.cumlogsumexp(log_g, reverse=True)
    log_p = log_shape + log_big_g[space.ladder_index_of_abs_m()]
    log_c = jax.nn.logsumexp(log_p)
    return log_p - log_c, log_z, log_g, log_c


def nuclear_steady_state(
    params: Latta09Params,
    space: DickeSpace,
    *,
    include: tuple[str, ...] = PROCESSES,
    solver: AbstractSteadyStateSolver = DenseLU(),
    throw: bool = True,
) -> NuclearSteadyState:
    """Stationary ``P(I, I_z)`` and conditional QD states for one parameter point
    [Latta09, Eq. (12)]; ``jax.vmap`` over ``params`` to batch (or :func:`detuning_scan`).

    ``include``: the nuclear processes kept (:data:`jaxspin.latta09.PROCESSES`; the decay
    pair is required), e.g. to isolate the Overhauser or the reverse-Overhauser process.
    ``solver``: passed to the QD steady-state solve (:func:`dot_steadystate`).

    Checks: ``params`` a :class:`Latta09Params` of scalars, ``space`` a
    :class:`DickeSpace` (``TypeError``/``ValueError``); every field in range (as at
    construction; ``eqx.error_if`` inside the compiled function). ``throw=True``: a bad
    field or a failed QD solve raises. ``throw=False``: that point comes back with NaN
    arrays and ``result`` set (``RESULTS.nonfinite`` for a bad field), so one bad point of
    a ``vmap`` does not stop the others.

    Example:
        >>> from jaxspin.latta09 import DickeSpace, Latta09Params, nuclear_steady_state
        >>> ss = nuclear_steady_state(Latta09Params(detuning=1.0), DickeSpace(200))
        >>> bool(abs(float(ss.p.sum()) - 1) < 1e-12)
        True
    """
    check_space(space)
    return _steady_state(params, space, include_mask(include), solver, throw)


def check_space(space) -> DickeSpace:
    if not isinstance(space, DickeSpace):
        raise TypeError(f"`space` must be a latta09.DickeSpace; got {type(space).__name__}.")
    return space


@jit
def _steady_state(params, space, mask, solver, throw):
    given = params
    if throw:
        params, bad = check_params(params), None
    else:
        params, bad = check_params(params, throw=False)  # bad fields -> defaults, flagged
    n = space.n_nuclei
    shift = params.hyperfine / n * space.m
    rho, failed_m = steadystates(params, shift, solver, throw)
    coeffs = process_coefficients(params, n, rho, shift, mask)
    ss = steady_state_from_coefficients(params, space, rho, coeffs)
    if throw:
        return ss
    failed = jnp.any(failed_m) | bad
    result = RESULTS.where(failed, RESULTS.nonfinite, RESULTS.successful)
    nan = lambda x: jnp.where(failed, jnp.asarray(jnp.nan, x.dtype), x)
    names = _ARRAYS + ("params", "result")
    values = [nan(getattr(ss, a)) for a in _ARRAYS] + [given, result]
    return eqx.tree_at(lambda q: [getattr(q, a) for a in names], ss, values)


_ARRAYS = (
    "log_p",
    "log_shape",
    "log_ladder_norm",
    "rho",
    "coefficients",
    "absorption_m",
    "log_i2",
)


def steady_state_from_coefficients(
    params: Latta09Params,
    space: DickeSpace,
    rho: Complex[Array, "K 3 3"],
    coeffs: Float[Array, "K 5"],
) -> NuclearSteadyState:
    """Steps (3)-(4) of the module docstring from given conditional QD states ``rho`` and
    per-matrix-element process rates ``coeffs`` on the grid ``space.m`` (one point;
    ``result`` is ``successful``: the caller knows how ``rho`` was obtained)."""
    a, b = ladder_coefficients(coeffs)
    log_shape = ladder_shape(space, a, b)
    log_p, log_z, log_g, log_c = mixture(space, log_shape)
    spins = space.spins
    log_ii = jnp.log(spins * (spins + 1))  # -inf for I = 0: no contribution
    log_big_g2 = jax.lax.cumlogsumexp(log_g + log_ii, reverse=True)
    log_i2 = log_shape + log_big_g2[space.ladder_index_of_abs_m()] - log_c
    return NuclearSteadyState(
        params=params,
        space=space,
        m=space.m,
        log_p=log_p,
        log_shape=log_shape,
        log_ladder_norm=log_z,
        rho=rho,
        coefficients=coeffs,
        absorption_m=absorption(params, rho),
        log_i2=log_i2,
        result=RESULTS.successful,
    )
