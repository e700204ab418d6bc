"""Spin-temperature ansatz [DeLuca16, Eq. (17)]: the fitting method Eq. (18) and the
perturbative estimate Eqs. (20)-(25), Appendix C.

Ansatz: ``p_n ∝ exp(−β_s (ε_n + h M_n))`` with lab-frame energies ``ε_n = ε'_n + ω_e M_n``.
With ``h_rot = ω_e + h`` (the field seen in the frame rotating at ``ω_e``) the exponent is
``−β_s (ε'_n + h_rot M_n)``: the fits work with ``h_rot`` (a few MHz) and report both.
The nuclear spin is part of ``H`` and so of ``ε_n``: the ansatz gives
``P_n = tanh(β_s ω_n / 2)`` [Eq. (1)].

Readings of the printed formulas (each checked by a test in ``tests/deluca16``):

- κ(ω), Eq. (21): ``κ = (P0 − Pe)/(2T1e) − T2e ω_1² Pe/(T2e²(ω − ω_MW)² + 1)`` is half of
  ``dPe/dt`` of a single spin under the rates (12) and (16) (the text's "κ ≡ dPe/dt" is
  off by this irrelevant overall 1/2). Its microwave term is consistent with Eq. (16),
  whose on-resonance rate ``ω_1² T2e`` is twice the Bloch-equation value; we keep Eq. (16)
  and therefore Eq. (21) as printed. Test: the U = 0 stationary polarizations of the
  master equation satisfy ``κ(ω_j) = 0`` for every spin.
- Borghini's Eq. (22) is the ``T2e → ∞`` limit of Eq. (21) (``T2e/(1 + T2e²x²) → π δ(x)``);
  implemented for the continuum only.
- Energy balance: with Eq. (C2) satisfied, Eq. (C3) is equivalent to ``Σ_j Δ_j κ_j = 0``
  (the ``ω_e`` part is Eq. (C2) times ``ω_e``); we solve that form (no cancellation
  against ``ω_e``). Likewise Eq. (C5) − ω_e·Eq. (C4).
- Order ``U²``: Eq. (C4)/(C5) weight each pair ``(j, l)`` by ``U²/N`` (the variance of
  ``U_jl``); Eq. (B12), their source, has exactly this coefficient (test: exact
  thermal ``N = 2`` expansion). The continuum limit of Eq. (C4) is then
  ``∫ f κ + U² ∫∫ f f κ_1 = 0``; the printed Eq. (23) has ``U²/2``, inconsistent with
  (C4); we use ``U²`` (test: the discrete (C4)-(C5) converge to our continuum form).
  With ``f`` uniform on ``[−Δω_e, Δω_e]`` the ``ω`` integral of ``κ_1 = ∂_ω(...)`` is
  done exactly: ``∫ dω f ∂_ω g(ω, ω') = [g(Δω_e, ω') − g(−Δω_e, ω')]/(2Δω_e)``.
- The perturbative estimate, like Appendix A, balances the energy and magnetization
  carried by spin flips (``S^x``, ``S^y``); the in-sector ``S^z`` bath processes of Eq. (12)
  are not part of it.
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
from jaxtyping import Array, Float

from .._checks import error_if, jit
from .._inputs import check_value, is_concrete
from ._model import (
    KAPPA_FIELDS,
    PE_FIELDS,
    Parameters,
    checked,
    float_leaves,
    is_bad,
    positive_int,
)
from ._rates import SteadyState


class SpinTemperature(eqx.Module):
    """Spin-temperature parameters of Eq. (17).

    ``beta_s``: inverse spin temperature [µs]; ``h_rot = ω_e + h``: effective field in the
    frame rotating at ``ω_e`` [rad/µs]; ``h``: the paper's ``h`` (lab frame) [rad/µs];
    ``converged``: whether the solver met its tolerance.
    """

    beta_s: Float[Array, "..."]
    h_rot: Float[Array, "..."]
    h: Float[Array, "..."]
    converged: Array

    def nuclear_polarization(self, omega_n) -> Float[Array, "..."]:
        """``P_n = tanh(β_s ω_n / 2)`` [Eq. (1)]."""
        return jnp.tanh(self.beta_s * omega_n / 2)

    def electron_polarization(self, offsets) -> Float[Array, "... N"]:
        """``Pe(ω_e + Δ) = −tanh(β_s (Δ + h_rot)/2)`` at Zeeman offsets ``Δ`` [rad/µs]."""
        b = jnp.asarray(self.beta_s)[..., None]
        return -jnp.tanh(b * (offsets + jnp.asarray(self.h_rot)[..., None]) / 2)


_SOLVER = optx.LevenbergMarquardt(rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------------------------
# Fitting method, Eq. (18)
# --------------------------------------------------------------------------------------
def ansatz_log_probabilities(
    energies: Float[Array, " n"], magnetization: Float[Array, " n"], beta_s, h_rot
) -> Float[Array, " n"]:
    """``log p^Ans_n = −β_s (ε'_n + h_rot M_n) − log Z`` [Eq. (17)], normalised over the
    last axis (leading axes: realizations; ``beta_s``, ``h_rot`` broadcast against them)."""
    logw = -beta_s * (energies + h_rot * magnetization)
    return logw - jax.nn.logsumexp(logw, axis=-1, keepdims=True)


def _fm_residual(y, args):
    # y = (β_s·scale, β_s·h_rot): the log-weights are linear in y (convex log-partition).
    energies, magnetization, e_target, m_target, scale = args
    beta_s, c = y[0] / scale, y[1]

    def moments(e, m):
        logw = -beta_s * e - c * m
        p = jnp.exp(logw - jax.nn.logsumexp(logw))
        return jnp.dot(p, e), jnp.dot(p, m)

    e_ans, m_ans = jax.vmap(moments)(energies, magnetization)
    return jnp.stack([(jnp.mean(e_ans) - e_target) / scale, jnp.mean(m_ans) - m_target])


@jit
def _fit(energies, magnetization, p, omega_e, scale, max_steps):
    e_target = jnp.mean(jnp.sum(p * energies, axis=-1))
    m_target = jnp.mean(jnp.sum(p * magnetization, axis=-1))
    # Start: (almost) infinite spin temperature, with the β_s·h_rot that reproduces <M>
    # for free spins (<M> = −(N/2) tanh(β_s h_rot / 2)).
    n_spins = 2 * jnp.max(jnp.abs(magnetization))
    pol = jnp.clip(2 * m_target / n_spins, -0.999, 0.999)
    y0 = jnp.stack([jnp.full((), 1e-3, p.dtype), -2 * jnp.arctanh(pol)])
    args = (energies, magnetization, e_target, m_target, scale)
    sol = optx.root_find(_fm_residual, _SOLVER, y0, args, max_steps=max_steps, throw=False)
    beta_s = sol.value[0] / scale
    h_rot = sol.value[1] / beta_s
    ok = sol.result == optx.RESULTS.successful
    return SpinTemperature(beta_s, h_rot, h_rot - omega_e, ok)


def _probabilities_bad(p):
    """Per entry: NaN/inf or negative; per row (last axis): not summing to 1 (to 1e-6)."""
    rows = jnp.abs(jnp.sum(p, axis=-1, keepdims=True) - 1) > 1e-6
    return ~jnp.isfinite(p) | (p < 0) | rows


def _raise_unless(ok, out, message: str):
    """``throw=True`` ending of a solve: ``RuntimeError`` now when ``ok`` is concrete,
    ``eqx.error_if`` on the result when traced (so the call also fails inside ``jit``)."""
    if is_concrete(ok):
        if not bool(jnp.all(ok)):
            raise RuntimeError(message)
        return out
    return eqx.tree_at(lambda o: o.beta_s, out, error_if(out.beta_s, ~jnp.all(ok), message))


def _flag_invalid(out: SpinTemperature, bad) -> SpinTemperature:
    nan = lambda x: jnp.where(bad, jnp.nan, x)
    return SpinTemperature(nan(out.beta_s), nan(out.h_rot), nan(out.h), out.converged & ~bad)


def fit_spin_temperature(
    states: SteadyState, omega_e, *, max_steps: int = 256, throw: bool = True
) -> SpinTemperature:
    """Fitting method (FM), Eq. (18): the realization-independent ``(β_s, h)`` whose ansatz
    Eq. (17) has the stationary energy and electron magnetization, both averaged over the
    realizations (the overline of Eq. (18)); ``states`` is a :class:`SteadyState` (or any
    object with ``p``, ``energies``, ``magnetization``, e.g. ``Profile.at(i)``) batched over
    realizations on its leading axis (one realization also works).

    Solved by Levenberg-Marquardt (a damped Newton method, optimistix) in the variables
    ``(β_s, β_s h_rot)``, in which the ansatz's log-partition function is convex, so the
    root is unique. Differentiable with respect to the stationary data (implicit function
    theorem). ``omega_e`` [rad/µs] converts ``h_rot`` to the paper's lab-frame ``h``.

    Checked: shapes ``(R, n)``; ``p`` finite, >= 0 and summing to 1 per realization (to
    1e-6); ``energies`` [rad/µs], ``magnetization`` finite; ``omega_e`` finite and > 0;
    ``max_steps`` an int >= 1. ``throw=True``: invalid data raise (``ValueError`` now, or
    ``eqx.error_if`` when traced) and so does a fit that does not converge
    (``RuntimeError``, or ``eqx.error_if`` when traced). ``throw=False``: invalid data (e.g.
    the NaN rows of a flagged realization) give NaN ``beta_s``/``h`` and
    ``converged=False``; nothing raises.
    """
    max_steps = positive_int(max_steps, "max_steps")
    energies = float_leaves(jnp.atleast_2d(states.energies))
    magnetization = float_leaves(jnp.atleast_2d(states.magnetization))
    p = float_leaves(jnp.atleast_2d(states.p))
    if not (energies.shape == magnetization.shape == p.shape) or energies.ndim != 2:
        raise ValueError(
            "`states` must hold p, energies, magnetization of shape (R, n); got "
            f"{p.shape}, {energies.shape}, {magnetization.shape}."
        )
    if p.shape[0] == 0 or p.shape[1] < 2:
        raise ValueError(f"`states` must hold R >= 1 realizations of n >= 2 states; got {p.shape}.")
    omega_e = jnp.asarray(omega_e, p.dtype)
    bad_omega = lambda w: ~jnp.isfinite(w) | (w <= 0)
    bad_finite = lambda x: ~jnp.isfinite(x)
    if throw:
        p = check_value(
            p, _probabilities_bad, "`states.p` must be finite, >= 0 and sum to 1 per realization."
        )
        energies = check_value(energies, bad_finite, "`states.energies` must be finite [rad/µs].")
        magnetization = check_value(
            magnetization, bad_finite, "`states.magnetization` must be finite."
        )
        omega_e = check_value(omega_e, bad_omega, "`omega_e` must be finite and > 0 [rad/µs].")
        bad = None
    else:
        bad = (
            jnp.any(_probabilities_bad(p))
            | jnp.any(bad_finite(energies))
            | jnp.any(bad_finite(magnetization))
            | jnp.any(bad_omega(omega_e))
        )
        # a placeholder data set (uniform p over equally spaced levels) for a bad one
        n = p.shape[1]
        p = jnp.where(bad, jnp.full_like(p, 1.0 / n), p)
        energies = jnp.where(bad, jnp.arange(n, dtype=p.dtype), energies)
        magnetization = jnp.where(bad, jnp.zeros_like(magnetization), magnetization)
        omega_e = jnp.where(bad, 1.0, omega_e)
    scale = jnp.std(energies)
    scale = jnp.where(scale > 0, scale, 1.0)  # traced: no recompilation per data set
    out = _fit(energies, magnetization, p, omega_e, scale, max_steps)
    if throw:
        return _raise_unless(
            out.converged, out, "fit_spin_temperature: Levenberg-Marquardt did not converge."
        )
    return _flag_invalid(out, bad)


def kl_divergence(state: SteadyState, spin_temperature: SpinTemperature) -> Float[Array, "..."]:
    """Kullback-Leibler divergence Eq. (27), ``Σ_n p_n ln(p_n / p^Ans_n)``, of the stationary
    state from the ansatz (per realization; batched over leading axes of ``state``).

    Checked: ``state.p`` has no negative entry (``ValueError`` now, or ``eqx.error_if``
    when traced). NaN entries (flagged realizations, failed fits) give NaN."""
    p = check_value(
        jnp.asarray(state.p),
        lambda q: q < 0,
        "`state.p` has negative entries; probabilities must be >= 0.",
    )
    beta_s = jnp.asarray(spin_temperature.beta_s)
    h_rot = jnp.asarray(spin_temperature.h_rot)
    logq = ansatz_log_probabilities(
        state.energies,
        state.magnetization,
        beta_s[..., None] if beta_s.ndim else beta_s,
        h_rot[..., None] if h_rot.ndim else h_rot,
    )
    plogp = jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0)
    return jnp.sum(plogp - p * logq, axis=-1)


# --------------------------------------------------------------------------------------
# Perturbative estimate, Eqs. (20)-(25) and Appendix C
# --------------------------------------------------------------------------------------
def kappa(offset, beta_s, h_rot, params: Parameters):
    """κ at Zeeman offset ``Δ = ω − ω_e`` [Eq. (21)] (1/µs), for ``Pe = −tanh(β_s(Δ+h_rot)/2)``
    and ``P0 = −tanh(β(ω_e + Δ)/2)``. The fields of ``params`` it reads are checked
    (:class:`Parameters`; a ``ValueError`` now or ``eqx.error_if`` when traced)."""
    return _kappa(offset, beta_s, h_rot, checked(_parameters(params), KAPPA_FIELDS, "params"))


def _parameters(params):
    if not isinstance(params, Parameters):
        raise TypeError(f"`params` must be a Parameters; got {type(params).__name__}.")
    if any(jnp.ndim(x) for x in jax.tree_util.tree_leaves(params)):
        raise ValueError("`params` must hold scalars (one parameter point; vmap over a grid).")
    return float_leaves(params)


def _kappa(offset, beta_s, h_rot, params: Parameters):
    p = params
    pe = -jnp.tanh(beta_s * (offset + h_rot) / 2)
    p0 = -jnp.tanh(p.beta * (p.omega_e + offset) / 2)
    detuning = offset - (p.omega_mw - p.omega_e)
    return (p0 - pe) / (2 * p.T1e) - p.T2e * p.omega_1**2 * pe / ((p.T2e * detuning) ** 2 + 1)


def _kappa_bath(offset, beta_s, h_rot, params):
    pe = -jnp.tanh(beta_s * (offset + h_rot) / 2)
    p0 = -jnp.tanh(params.beta * (params.omega_e + offset) / 2)
    return (p0 - pe) / (2 * params.T1e)


def balance_flows(beta_s, h_rot, params: Parameters, offsets, coupling2=None):
    """Magnetization and rotating-frame energy flows of spins at ``offsets`` in the
    spin-temperature state ``(β_s, h_rot)``: ``(Σ_j κ_j, Σ_j Δ_j κ_j)`` [Eqs. (C2), (C3) −
    ω_e·(C2)], plus, with ``coupling2`` (``U²/N`` or an ``(N, N)`` matrix of ``U_jl²``), the
    order-``U²`` terms ``Σ_j Σ_{l≠j} U_jl² ∂_{Δ_j}[(F_j − F_l)/(Δ_j − Δ_l)]`` of Eqs. (C4),
    (C5) with ``F = κ`` and ``F = Δκ``. Units 1/µs and rad/µs² (κ is ``dP/dt / 2``)."""
    k = lambda d: _kappa(d, beta_s, h_rot, params)
    wk = lambda d: d * _kappa(d, beta_s, h_rot, params)
    kj = jax.vmap(k)(offsets)
    flows = jnp.stack([jnp.sum(kj), jnp.sum(offsets * kj)])
    if coupling2 is None:
        return flows
    n = offsets.shape[0]
    eye = jnp.eye(n, dtype=bool)
    # pairs j = l are excluded; give them a harmless partner so that no 0/0 is formed
    partner = jnp.where(eye, offsets[:, None] + 1.0, offsets[None, :])

    def corr(fun):
        def g(dj, dl):
            return (fun(dj) - fun(dl)) / (dj - dl)

        dg = jax.vmap(jax.vmap(jax.grad(g, 0), (None, 0)), (0, 0))(offsets, partner)
        return jnp.sum(jnp.where(eye, 0.0, coupling2 * dg))

    return flows + jnp.stack([corr(k), corr(wk)])


def _normalise(flows, params):
    """Flows per spin in units of the bath rate ``1/T1e`` (and, for the energy, of
    ``Δω_e``): at the root the bath and the microwave flows balance, so both are O(1)."""
    return flows * params.T1e / jnp.stack([jnp.ones_like(params.T1e), params.delta_omega_e])


def _discrete_balance(y, args):
    offsets, params, coupling2 = args
    beta_s, h_rot = y[0] / params.delta_omega_e, y[1] * params.delta_omega_e
    flows = balance_flows(beta_s, h_rot, params, offsets, coupling2) / offsets.shape[0]
    return _normalise(flows, params)


def _panels(lo, hi, center, width, n_nodes=48):
    """Composite Gauss-Legendre nodes/weights on ``[lo, hi]``, refined geometrically around
    ``center`` (panel edges at ``center ± width·10^k``) to resolve a Lorentzian."""
    x, w = np.polynomial.legendre.leggauss(n_nodes)
    x, w = jnp.asarray(x), jnp.asarray(w)
    edges = [lo, hi]
    for k in range(-1, 5):
        for s in (-1.0, 1.0):
            edges.append(center + s * width * 10.0**k)
    edges = jnp.sort(jnp.clip(jnp.stack([jnp.asarray(e, lo.dtype) for e in edges]), lo, hi))
    a, b = edges[:-1], edges[1:]
    nodes = (a[:, None] + b[:, None]) / 2 + (b - a)[:, None] / 2 * x[None, :]
    weights = (b - a)[:, None] / 2 * w[None, :]
    return nodes.reshape(-1), weights.reshape(-1)


def _continuum_balance(y, args):
    params, order, line = args
    p = params
    W = p.delta_omega_e
    beta_s, h_rot = y[0] / W, y[1] * W
    delta_mw = p.omega_mw - p.omega_e
    x, w = _panels(-W, W, delta_mw, 1.0 / p.T2e)
    w = w / (2 * W)  # f uniform on [-W, W]
    if line == "borghini":
        kb = _kappa_bath(x, beta_s, h_rot, p)
        pe_res = -jnp.tanh(beta_s * (delta_mw + h_rot) / 2)
        inside = jnp.abs(delta_mw) <= W
        f_res = jnp.where(inside, 1.0 / (2 * W), 0.0)
        mw = -math.pi * p.omega_1**2 * pe_res * f_res
        flows = jnp.stack([jnp.sum(w * kb) + mw, jnp.sum(w * x * kb) + delta_mw * mw])
        return _normalise(flows, p)
    k = lambda d: _kappa(d, beta_s, h_rot, p)
    kx = k(x)
    flows = jnp.stack([jnp.sum(w * kx), jnp.sum(w * x * kx)])
    if order == 2:
        # U² ∫∫ f f ∂_ω g = U² ∫ dω' f(ω') [g(W, ω') − g(−W, ω')] / (2W)
        def boundary(fun, fx):
            # zero-width panels (edges clipped to ±W) put nodes exactly on ±W, weight 0
            dW = jnp.where(x < W, W - x, 1.0)
            dm = jnp.where(x > -W, -W - x, -1.0)
            gW = (fun(W) - fx) / dW
            gm = (fun(-W) - fx) / dm
            return jnp.sum(jnp.where(w > 0, w * (gW - gm), 0.0)) / (2 * W)

        wk = lambda d: d * k(d)
        flows = flows + p.U**2 * jnp.stack([boundary(k, kx), boundary(wk, x * kx)])
    return _normalise(flows, p)


def _start(params, offsets):
    """Initial guess from independent spins: each spin's own root of κ (U = 0),
    ``P* = P0 / (1 + 2 T1e W_MW)``, and the straight line ``2 atanh(−P*) ≈ β_s (Δ + h_rot)``
    fitted through them (exact for two spins)."""
    p = params
    W = p.delta_omega_e
    x = jnp.linspace(-W, W, 201) if offsets is None else offsets
    detuning = x - (p.omega_mw - p.omega_e)
    w_mw = p.omega_1**2 * p.T2e / (1 + (p.T2e * detuning) ** 2)
    p0 = -jnp.tanh(p.beta * (p.omega_e + x) / 2)
    target = 2 * jnp.arctanh(jnp.clip(-p0 / (1 + 2 * p.T1e * w_mw), -0.999999, 0.999999))
    A = jnp.stack([x / W, jnp.ones_like(x)], axis=1)
    (a, b), *_ = jnp.linalg.lstsq(A, target)
    return jnp.stack([a, b / a])  # (β_s W, h_rot / W)


@jit
def _solve_pe(params, offsets, order, line, y0, max_steps):
    if offsets is None:
        fn, args = _continuum_balance, (params, order, line)
    else:
        coupling2 = params.U**2 / offsets.shape[0] if order == 2 else None
        fn, args = _discrete_balance, (offsets, params, coupling2)
    y0 = _start(params, offsets) if y0 is None else y0
    sol = optx.root_find(fn, _SOLVER, y0, args, max_steps=max_steps, throw=False)
    W = params.delta_omega_e
    beta_s, h_rot = sol.value[0] / W, sol.value[1] * W
    ok = sol.result == optx.RESULTS.successful
    return SpinTemperature(beta_s, h_rot, h_rot - params.omega_e, ok)


def perturbative_spin_temperature(
    params: Parameters,
    *,
    order: int = 2,
    line: str = "lorentzian",
    offsets: Float[Array, " N"] | None = None,
    max_steps: int = 256,
    throw: bool = True,
) -> SpinTemperature:
    """Perturbative estimate (PE) of ``(β_s, h)`` [DeLuca16, Sec. III B, Appendix C]: the
    stationary balance of magnetization and energy flows carried by spin flips.

    ``offsets=None``: the mean-field limit ``N → ∞`` with ``f`` uniform on
    ``[−Δω_e, Δω_e]``, Eqs. (20) (``order=0``) or (23)-(25) with ``U²`` (``order=2``; see
    the module docstring for the prefactor); ``line="borghini"`` replaces the Lorentzian
    by Borghini's δ line, Eq. (22) (``order=0`` only). ``offsets`` (``(N,)``, rad/µs): the
    finite-N sums Eqs. (C2)-(C3) or, with ``order=2``, (C4)-(C5) with ``U_jl² → U²/N``.
    Solved by Levenberg-Marquardt (damped Newton, optimistix); differentiable in
    ``params``. Single parameter point (vmap for sweeps).

    Checked: the fields of ``params`` it reads (:class:`Parameters`, scalars; not ``D``,
    ``omega_n``) with ``delta_omega_e > 0``;
    ``offsets`` 1-D, finite, with N >= 2 distinct values (all distinct for ``order=2``,
    whose pair terms divide by ``Δ_j − Δ_l``); ``max_steps`` an int >= 1.
    ``throw=True``: invalid values raise (``ValueError`` now, or ``eqx.error_if`` when
    traced) and so does non-convergence (``RuntimeError``, or ``eqx.error_if`` when
    traced). ``throw=False``: invalid values give NaN and ``converged=False``.
    """
    if order not in (0, 2):
        raise ValueError(f"`order` must be 0 or 2; got {order}.")
    if line not in ("lorentzian", "borghini"):
        raise ValueError(f"`line` must be 'lorentzian' or 'borghini'; got {line!r}.")
    if line == "borghini" and (order != 0 or offsets is not None):
        raise ValueError("Borghini's δ line (Eq. (22)) is implemented for order=0, offsets=None.")
    max_steps = positive_int(max_steps, "max_steps")
    params = _parameters(params)
    width_msg = "`params.delta_omega_e` must be > 0 for the perturbative estimate [rad/µs]."
    bad_width = lambda w: ~(w > 0)
    if offsets is not None:
        offsets = jnp.asarray(offsets, jnp.result_type(float))
        if offsets.ndim != 1 or offsets.shape[0] < 2:
            raise ValueError(
                f"`offsets` must be 1-D with N >= 2 entries (one spin leaves (β_s, h) "
                f"undetermined); got shape {offsets.shape}."
            )
    offsets_bad = lambda o: (
        jnp.any(~jnp.isfinite(o))
        | (jnp.any(jnp.diff(jnp.sort(o)) == 0) if order == 2 else (jnp.max(o) == jnp.min(o)))
    )
    offsets_msg = (
        "`offsets` must be finite and pairwise distinct for order=2 [rad/µs]."
        if order == 2
        else "`offsets` must be finite and not all equal [rad/µs]."
    )
    if throw:
        params = checked(params, PE_FIELDS, "params")
        params = eqx.tree_at(
            lambda p: p.delta_omega_e,
            params,
            check_value(params.delta_omega_e, bad_width, width_msg),
        )
        if offsets is not None:
            offsets = check_value(offsets, offsets_bad, offsets_msg)
        out = _solve_pe(params, offsets, order, line, None, max_steps)
        return _raise_unless(
            out.converged,
            out,
            "perturbative_spin_temperature: the balance equations did not converge.",
        )
    bad = is_bad(params, PE_FIELDS) | bad_width(params.delta_omega_e)
    if offsets is not None:
        bad = bad | offsets_bad(offsets)
        offsets = jnp.where(bad, jnp.linspace(-1.0, 1.0, offsets.shape[0]), offsets)
    safe = jax.tree_util.tree_map(lambda x: jnp.where(bad, jnp.ones_like(x), x), params)
    out = _solve_pe(safe, offsets, order, line, None, max_steps)
    return _flag_invalid(out, bad)
