"""Steady-state scans over the laser detuning and maps over detuning and Rabi frequency.

The conditional QD state depends on the nuclear state only through the effective detuning
``Δω̃ = Δω − (A/N) I_z`` (its populations and the driven coherence; |↓⟩ carries none). On a
uniform detuning grid whose step ``h`` is a rational multiple ``p/q`` of the Overhauser step
``s = A/N`` (small ``q``), all the ``Δω̃`` of all detunings lie on one lattice of spacing
``s/q``: :func:`detuning_scan` solves the QD once per lattice site (``≈ n p + K q`` solves
instead of ``n K``) and gathers. Otherwise (or when ``A`` is traced, e.g. under ``grad``)
it solves every (detuning, ``I_z``) pair. ``tests/latta09/test_maps.py`` checks both
against :func:`nuclear_steady_state`. Maps run the detuning scan for every Rabi frequency
through :func:`jaxspin.sweep` (chunks, devices, checkpoints, progress).
"""

import fractions
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike

from .._checks import jit
from .._steady import AbstractSteadyStateSolver, DenseLU
from .._sweep import sweep
from .._sweep_result import SweepResult
from ._dicke import DickeSpace
from ._dot import steadystates
from ._parameters import Latta09Params, check_params
from ._rates import PROCESSES, include_mask, process_coefficients
from ._stationary import (
    NuclearSteadyState,
    _steady_state,
    check_space,
    nuclear_steady_state,
    steady_state_from_coefficients,
)


#: Observables a map returns, with their units.
MAP_OUTPUTS = {
    "polarization": "1",
    "overhauser_shift": "ueV",
    "overhauser_std": "ueV",
    "fluctuation_ratio": "1",
    "absorption": "ueV",
}


def effective_detuning_lattice(
    detunings: np.ndarray, step: float, num_m: int, *, max_denominator: int = 64
) -> tuple[np.ndarray, np.ndarray] | None:
    """The lattice holding every ``detunings[i] − step · k`` (``k = 0..num_m−1``): returns
    ``(values (J,), index (n, num_m))`` with ``values[index[i, k]] = detunings[i] − step k``,
    or ``None`` when the grid is not uniform or its step is not a rational multiple ``p/q``
    of ``step`` with ``q ≤ max_denominator`` (relative tolerance 1e-10). Host-side."""
    d = np.asarray(detunings, float)
    n = d.size
    if n == 1:
        j = -np.arange(num_m)
        return d[0] + step * np.arange(-(num_m - 1), 1), (j - j.min())[None, :]
    h = d[1] - d[0]
    if h == 0 or np.max(np.abs(np.diff(d) - h)) > 1e-10 * abs(h):
        return None
    frac = fractions.Fraction(h / step).limit_denominator(max_denominator)
    if frac == 0 or abs(float(frac) - h / step) > 1e-10 * abs(h / step):
        return None
    p, q = frac.numerator, frac.denominator
    base = step / q
    j = p * np.arange(n)[:, None] - q * np.arange(num_m)[None, :]
    lo, hi = j.min(), j.max()
    values = d[0] + base * np.arange(lo, hi + 1)
    return values, j - lo


def detuning_scan(
    params: Latta09Params,
    space: DickeSpace,
    detunings: ArrayLike,
    *,
    include: tuple[str, ...] = PROCESSES,
    solver: AbstractSteadyStateSolver = DenseLU(),
) -> NuclearSteadyState:
    """Stationary states at every laser detuning of ``detunings`` [µeV] (other parameters
    from ``params``): a :class:`NuclearSteadyState` whose arrays carry a leading axis
    ``(n,)``. Shares the QD solves between detunings on an effective-detuning lattice when
    possible (module docstring); the result is the same as ``nuclear_steady_state`` at each
    detuning (to rounding). ``detunings`` must be finite and non-empty (``ValueError``);
    ``params``/``space`` as in :func:`nuclear_steady_state`."""
    check_space(space)
    if not isinstance(params, Latta09Params):
        raise TypeError(f"`params` must be a Latta09Params; got {type(params).__name__}.")
    mask = jnp.asarray(include_mask(include))
    d = np.asarray(detunings, float).reshape(-1)
    if d.size == 0 or not np.all(np.isfinite(d)):
        raise ValueError(f"`detunings` must be finite and non-empty; got shape {d.shape}.")
    lattice = None
    if not isinstance(params.hyperfine, jax.core.Tracer):
        step = float(params.hyperfine) / space.n_nuclei
        if step > 0:
            lattice = effective_detuning_lattice(d, step, space.num_m)
    if lattice is None:
        return _scan_direct(params, space, jnp.asarray(d), mask, solver)
    values, index = lattice
    return _scan_lattice(
        params, space, jnp.asarray(d), jnp.asarray(values), jnp.asarray(index), mask, solver
    )


@jit
def _scan_direct(params, space, d, mask, solver):
    at = lambda delta: eqx.tree_at(lambda q: q.detuning, params, delta)
    return jax.vmap(lambda delta: _steady_state(at(delta), space, mask, solver, True))(d)


@jit
def _scan_lattice(params, space, d, values, index, mask, solver):
    params = check_params(params)
    n = space.n_nuclei
    at = lambda delta: eqx.tree_at(lambda q: q.detuning, params, delta)
    # lattice site j holds Δω̃ = values[j] − (A/N) m_0; solve at detuning 0 with shift −Δω̃
    base_params = at(jnp.zeros((), d.dtype))
    eff = values - params.hyperfine / n * space.m[0]
    rho_lat, _ = steadystates(base_params, -eff, solver)
    coef_lat = process_coefficients(base_params, n, rho_lat, -eff, mask)

    def one(delta, ix):
        return steady_state_from_coefficients(at(delta), space, rho_lat[ix], coef_lat[ix])

    return jax.vmap(one)(d, index)


def steady_observables(
    params: Latta09Params,
    space: DickeSpace,
    solver: AbstractSteadyStateSolver = DenseLU(),
) -> dict:
    """The :data:`MAP_OUTPUTS` of the stationary state at one parameter point."""
    ss = nuclear_steady_state(params, space, solver=solver)
    return {name: getattr(ss, name) for name in MAP_OUTPUTS}


def polarization_map(
    params: Latta09Params,
    space: DickeSpace,
    detunings: ArrayLike,
    rabis: ArrayLike,
    *,
    solver: AbstractSteadyStateSolver = DenseLU(),
    outputs: Sequence[str] = tuple(MAP_OUTPUTS),
    **sweep_kwargs,
) -> SweepResult:
    """Stationary observables over a ``detuning × rabi`` grid [µeV × µeV] (other parameters
    from ``params``): :func:`jaxspin.sweep` over ``rabi``, each point a :func:`detuning_scan`
    over all ``detunings`` (which shares QD solves on the effective-detuning lattice when the
    detuning step is commensurate with ``A/N``). Extra keyword arguments (``chunk_size``,
    ``checkpoint``, ``progress``, ``devices``, ...) go to the sweep.

    Returns a :class:`jaxspin.SweepResult` with dims ``("detuning", "rabi")`` and the
    requested ``outputs`` (subset of :data:`MAP_OUTPUTS`), each shaped ``(n_det, n_rabi)``.

    Checks, before any work (``ValueError``): ``detunings`` and ``rabis`` finite,
    non-empty and 1-D, ``rabis >= 0``, ``outputs`` non-empty and known.
    """
    if isinstance(outputs, str):
        raise ValueError(f"`outputs` must be a sequence of names, not the string {outputs!r}.")
    outputs = tuple(outputs)
    unknown = [o for o in outputs if o not in MAP_OUTPUTS]
    if unknown:
        raise ValueError(f"Unknown outputs {unknown}; choose from {list(MAP_OUTPUTS)}.")
    if not outputs:
        raise ValueError(f"`outputs` is empty; choose from {list(MAP_OUTPUTS)}.")
    check_space(space)
    d = np.asarray(detunings, float)
    if d.ndim != 1 or d.size == 0 or not np.all(np.isfinite(d)):
        raise ValueError(f"`detunings` must be a finite, non-empty 1-D array; got shape {d.shape}.")
    rabi_values = np.asarray(rabis, float)
    if rabi_values.ndim != 1 or rabi_values.size == 0:
        raise ValueError(f"`rabis` must be a non-empty 1-D array; got shape {rabi_values.shape}.")
    if not np.all(np.isfinite(rabi_values) & (rabi_values >= 0)):
        raise ValueError("`rabis` (Rabi frequencies Ω_L) must be finite and >= 0 [µeV].")

    def point(rabi):
        q = eqx.tree_at(lambda p: p.rabi, params, rabi)
        ss = detuning_scan(q, space, d, solver=solver)
        return {k: getattr(ss, k) for k in outputs}

    sweep_kwargs.setdefault("desc", f"latta09 map (N = {space.n_nuclei})")
    r = sweep(point, {"rabi": rabi_values}, **sweep_kwargs)
    values = {k: np.ascontiguousarray(np.asarray(r.values[k]).T) for k in outputs}
    units = {"detuning": "ueV", "rabi": "ueV"} | {k: MAP_OUTPUTS[k] for k in outputs}
    return SweepResult(
        dims=("detuning", "rabi"),
        coords={"detuning": d, "rabi": np.asarray(r.coords["rabi"])},
        values=values,
        units=units,
        name="latta09.polarization_map",
        # a rabi point's code (sweep(throw=False)) applies to its whole column of detunings
        status=None if r.status is None else np.broadcast_to(r.status, (d.size, r.status.size)),
    )
