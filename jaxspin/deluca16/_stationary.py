"""Public entry points of the rate-equation pipeline [DeLuca16, Sec. III A, Eqs. (11), (26)].

Each takes a :class:`DeLucaModel` with any leading batch shape (realizations, parameter
grids), checks memory before anything is allocated, and maps the single-realization
kernel over the batch (``jax.vmap`` in blocks of ``block_size`` realizations, see
``jaxspin._batching.map_batched``).

Input checks, before any diagonalization: shapes and sizes (``ValueError``), memory
(:class:`jaxspin.MemoryBudgetError` with the number), and every value of the model that
the computation reads (``PIPELINE_FIELDS`` of ``_model.py``; the rules are those of
:class:`Parameters` and :class:`DeLucaModel`): ``ValueError`` for concrete values,
``eqx.error_if`` (an ``EquinoxRuntimeError`` at run time) when traced.
With ``throw=False`` an invalid realization is not an error: it comes back as NaN (and,
for :func:`steady_state`, ``result = STATIONARY_RESULTS.invalid_input``), the others as
before.
"""

import operator

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._batching import map_batched
from .._checks import jit, result_error_if
from .._inputs import check_int, check_value
from .._ratematrix import STATIONARY_RESULTS, stationary_block_tridiagonal
from ._ed import _diagonalize, check_size, magnetizations
from ._model import (
    PIPELINE_FIELDS,
    DeLucaModel,
    checked,
    float_leaves,
    is_bad,
    positive_int,
)
from ._rates import (
    SteadyState,
    _rate_blocks,
    diagonal_expectations,
    matrix_elements,
    slowest_relaxation_kernel,
    steady_state_kernel,
)


#: The result code of a realization whose inputs are invalid (``throw=False``).
INVALID = STATIONARY_RESULTS.invalid_input

_CORE_NDIMS = {"delta": 1, "U": 2, "D": 1}


def _check_model(
    model: DeLucaModel, *, throw: bool = True, fields=PIPELINE_FIELDS
) -> tuple[DeLucaModel, tuple[int, ...]]:
    """Shape checks, then (``throw``) checks of the values ``fields`` that the computation
    reads; returns the (checked) model and its batch shape."""
    if not isinstance(model, DeLucaModel):
        raise TypeError(f"`model` must be a DeLucaModel; got {type(model).__name__}.")
    model = float_leaves(model)
    n = model.n_spins
    if n < 1:
        raise ValueError(f"`model` must have N >= 1 spins; got delta {model.delta.shape}.")
    if model.U.shape[-2:] != (n, n) or model.D.shape[-1] != n:
        raise ValueError(
            f"`model` has delta {model.delta.shape}, U {model.U.shape}, D {model.D.shape}; "
            "expected (..., N), (..., N, N), (..., N)."
        )
    leaves = jax.tree_util.tree_leaves(model.params)
    shapes = [model.delta.shape[:-1], model.U.shape[:-2], model.D.shape[:-1]]
    shapes += [leaf.shape for leaf in leaves]
    try:
        batch = tuple(jnp.broadcast_shapes(*shapes))
    except ValueError as err:
        raise ValueError(f"Batch shapes of the model's arrays do not broadcast: {shapes}.") from err
    if 0 in batch:
        raise ValueError(f"`model` has an empty batch (shape {batch}): nothing to compute.")
    return (checked(model, fields, "model") if throw else model), batch


def map_models(kernel, model: DeLucaModel, *extra, block_size: int | None = None):
    """Map ``kernel(model_i, *extra)`` over the leading batch axes of ``model`` (the extra
    arguments are shared)."""
    leaves, treedef = jax.tree_util.tree_flatten(model)
    fields = ["delta", "U", "D"] + ["params"] * (len(leaves) - 3)
    core = [_CORE_NDIMS.get(f, 0) for f in fields]

    def one(*xs):
        return kernel(jax.tree_util.tree_unflatten(treedef, list(xs)), *extra)

    return map_batched(one, leaves, core, [f"model.{f}" for f in fields], block_size=block_size)


def guarded(kernel, mask):
    """``throw=False``: the kernel of one realization, run on a placeholder (every entry 1,
    a valid model) where the realization's inputs are invalid, its outputs then replaced
    by ``mask(out, bad)``; valid realizations are computed exactly as before."""

    def run(model, *extra):
        bad = is_bad(model, PIPELINE_FIELDS)
        safe = jax.tree_util.tree_map(lambda x: jnp.where(bad, jnp.ones_like(x), x), model)
        return mask(kernel(safe, *extra), bad)

    return run


def nan_where(bad, x):
    return jnp.where(bad, jnp.nan, x)


def block_count(block_size: int | None) -> int | None:
    """``block_size``: ``None`` or an int >= 1."""
    return None if block_size is None else check_int(block_size, "block_size", 1)


def _block(batch: tuple[int, ...], n_spins: int, block_size: int | None) -> int:
    block_size = block_count(block_size)
    size = int(np.prod(batch, dtype=np.int64)) if batch else 1
    block = min(size, block_size or 64)
    check_size(n_spins, block)
    return block


def _invalid_state(st: SteadyState, bad) -> SteadyState:
    nan = lambda x: nan_where(bad, x)
    return SteadyState(
        p=nan(st.p),
        energies=nan(st.energies),
        magnetization=st.magnetization,
        iz=nan(st.iz),
        sz=nan(st.sz),
        nuclear_polarization=nan(st.nuclear_polarization),
        electron_polarization=nan(st.electron_polarization),
        result=STATIONARY_RESULTS.where(bad, INVALID, st.result),
    )


@jit
def _steady_jit(model, block, throw):
    kernel = steady_state_kernel if throw else guarded(steady_state_kernel, _invalid_state)
    out = map_models(kernel, model, block_size=block)
    if throw:
        p = result_error_if(out.p, out.result, out.result != STATIONARY_RESULTS.successful)
        out = eqx.tree_at(lambda s: s.p, out, p)
    return out


def steady_state(
    model: DeLucaModel, *, throw: bool = True, block_size: int | None = None
) -> SteadyState:
    """Stationary state of the rate equation (11) with bath (12) and microwave (16) rates
    for every realization in ``model`` (leading batch axes allowed) [DeLuca16, Sec. III A].

    Exact diagonalization per sector of total electron ``S^z`` (float64), matrix elements,
    rates, and the engine's block-tridiagonal stationary solver (relative accuracy for
    rates over many decades; differentiable). ``block_size``: realizations diagonalized at
    once (an int >= 1; memory is checked for that many before anything is allocated;
    default 64).

    Checked before anything is diagonalized: shapes, memory, and every value of ``model``
    it reads (``delta``, ``U``, ``D`` finite; ``omega_e``, ``omega_mw`` [rad/µs], ``T1e``,
    ``T2e`` [µs] finite and > 0; ``omega_1`` [rad/µs], ``beta`` [µs] finite and >= 0;
    ``omega_n`` finite).
    ``throw=True``: invalid values raise (``ValueError``, or ``eqx.error_if`` when traced),
    and so does a stationary state that is not unique. ``throw=False``: a realization
    with invalid values gets ``result = STATIONARY_RESULTS.invalid_input`` and NaN
    probabilities, energies and polarizations; a non-unique one its ``result`` code; the
    others are unchanged.

    Returns :class:`SteadyState` (``p``, energies, magnetizations, ``P_n`` Eq. (26), ``P_i``).

    Example:
        >>> import jax, jaxspin.deluca16 as dl
        >>> model = dl.random_model(jax.random.PRNGKey(0), 4, dl.table1(omega_1_mhz=0.0))
        >>> st = dl.steady_state(model)   # no microwaves: Gibbs state, P_n = tanh(βω_n/2)
        >>> round(float(st.nuclear_polarization), 7)
        0.0005782
    """
    model, batch = _check_model(model, throw=throw)
    block = _block(batch, model.n_spins, block_size)
    return _steady_jit(model, block, throw)


@jit
def _relax_jit(model, k, block, throw):
    kernel = lambda m: slowest_relaxation_kernel(m, k)
    if not throw:
        kernel = guarded(kernel, lambda out, bad: nan_where(bad, out))
    return map_models(kernel, model, block_size=block)


def relaxation_rates(
    model: DeLucaModel, k: int = 1, *, throw: bool = True, block_size: int | None = None
) -> Float[Array, "... k"]:
    """The ``k`` slowest relaxation rates [1/µs] of the master equation (11) per realization
    (subspace iteration on the block-tridiagonal generator; see
    :func:`jaxspin.relaxation_rates_block_tridiagonal`). With the default small ``D`` the
    slowest one is the relaxation of the nuclear spin (it scales as ``D²``).

    Checked: ``1 <= k <= 2^(N+1) − 1`` and everything :func:`steady_state` checks;
    ``throw=False`` gives NaN rates for a realization with invalid values instead of
    raising."""
    model, batch = _check_model(model, throw=throw)
    n_states = 2 ** (model.n_spins + 1)
    try:
        k = operator.index(k)
    except TypeError:
        raise ValueError(f"`k` must be an integer; got {k!r}.") from None
    if not 1 <= k <= n_states - 1:
        raise ValueError(
            f"`k` must be in [1, {n_states - 1}] (N = {model.n_spins}: {n_states} states, one "
            f"stationary); got {k}."
        )
    block = _block(batch, model.n_spins, block_size)
    return _relax_jit(model, k, block, throw)


class Profile(eqx.Module):
    """DNP profile of one or more realizations at microwave frequencies ``omega_mw``.

    ``nuclear_polarization`` (``(..., F)``), ``electron_polarization`` (``(..., F, N)``),
    ``p`` (``(..., F, n)``): stationary probabilities at each frequency; ``energies``
    (``(..., n)``, ε'_n [rad/µs]) and ``magnetization`` (``(..., n)``) of the eigenstates
    (frequency independent); ``omega_mw`` (``(F,)``) [rad/µs]. Entries are NaN where the
    stationary state is not unique. ``at(i)`` gives frequency ``i`` as a state-like object
    for :func:`fit_spin_temperature` and :func:`kl_divergence`.
    """

    nuclear_polarization: Float[Array, "... F"]
    electron_polarization: Float[Array, "... F N"]
    p: Float[Array, "... F n"]
    energies: Float[Array, "... n"]
    magnetization: Float[Array, "... n"]
    omega_mw: Float[Array, " F"]

    def at(self, i: int) -> "ProfilePoint":
        """Frequency ``i`` (an int in ``[-F, F)``) as a :class:`ProfilePoint`."""
        F = self.omega_mw.shape[-1]
        try:
            i = operator.index(i)
        except TypeError:
            raise ValueError(f"`i` must be an integer frequency index; got {i!r}.") from None
        if not -F <= i < F:
            raise ValueError(f"`i` must be in [-{F}, {F}) (F = {F} frequencies); got {i}.")
        return ProfilePoint(self.p[..., i, :], self.energies, self.magnetization)


class ProfilePoint(eqx.Module):
    """Stationary probabilities with their eigenstates' energies and magnetizations (the
    fields :func:`fit_spin_temperature` and :func:`kl_divergence` read)."""

    p: Float[Array, "... n"]
    energies: Float[Array, "... n"]
    magnetization: Float[Array, "... n"]


def _profile_kernel(model: DeLucaModel, omega_mw: Float[Array, " F"], guard_frequencies: bool):
    n = model.n_spins
    spec = _diagonalize(model)
    elements = matrix_elements(spec, n)
    sz, iz = diagonal_expectations(spec, n)

    def at(w):
        if guard_frequencies:  # throw=False: a bad frequency is solved at ω_e, then NaN
            bad_w = _bad_frequency(w)
            w = jnp.where(bad_w, model.params.omega_e, w)
        m = eqx.tree_at(lambda m: m.params.omega_mw, model, w)
        st = stationary_block_tridiagonal(_rate_blocks(m, spec, elements), throw=False)
        ok = st.result == STATIONARY_RESULTS.successful
        if guard_frequencies:
            ok = ok & ~bad_w
        p = jnp.where(ok, st.p, jnp.nan)
        return 2.0 * jnp.dot(p, iz), 2.0 * (p @ sz), p

    pn, pe, p = jax.lax.map(at, omega_mw)
    return pn, pe, p, jnp.concatenate(spec.energies), magnetizations(n)


def _bad_frequency(w):
    return ~jnp.isfinite(w) | (w <= 0)


def _invalid_profile(out, bad):
    pn, pe, p, energies, magnetization = out
    pn, pe, p, energies = (nan_where(bad, x) for x in (pn, pe, p, energies))
    return pn, pe, p, energies, magnetization


@jit
def _profile_jit(model, omega_mw, block, throw):
    kernel = lambda m, w: _profile_kernel(m, w, not throw)
    if not throw:
        kernel = guarded(kernel, _invalid_profile)
    return map_models(kernel, model, omega_mw, block_size=block)


def dnp_profile(
    model: DeLucaModel,
    omega_mw: Float[Array, " F"],
    *,
    throw: bool = True,
    block_size: int | None = None,
) -> Profile:
    """DNP profile [DeLuca16, Fig. 2]: the stationary state at every microwave frequency
    ``omega_mw`` (lab frame, rad/µs; 1-D, at least one, finite and > 0) for every
    realization in ``model``. The spectrum and matrix elements are computed once per
    realization; only the microwave rates change along the profile. Entries are NaN where
    the stationary state is not unique.

    Checked as in :func:`steady_state`; ``throw=True`` raises on invalid ``model`` values
    or frequencies, ``throw=False`` returns NaN for that realization or frequency only.
    Returns a :class:`Profile`."""
    model, batch = _check_model(model, throw=throw)
    omega_mw = float_leaves(omega_mw)
    if omega_mw.ndim != 1 or omega_mw.shape[0] == 0:
        raise ValueError(f"`omega_mw` must be 1-D and non-empty; got shape {omega_mw.shape}.")
    if throw:
        omega_mw = check_value(
            omega_mw, _bad_frequency, "`omega_mw` must be finite and > 0 [rad/µs]."
        )
    block = _block(batch, model.n_spins, block_size)
    pn, pe, p, energies, magnetization = _profile_jit(model, omega_mw, block, throw)
    return Profile(pn, pe, p, energies, magnetization, omega_mw)


def magnetization_distribution(state: SteadyState, n_spins: int) -> Float[Array, "... K"]:
    """Probability of each total electron magnetization ``M = k − N/2``, ``k = 0..N``
    (the stationary ``S^z`` distribution). ``n_spins`` (an int >= 1) must be the ``N`` of
    ``state`` (checked: ``max |M| = N/2``); NaN rows (flagged realizations) stay NaN."""
    n_spins = positive_int(n_spins)
    M = state.magnetization.reshape(-1, state.magnetization.shape[-1])[0]
    M = check_value(
        M,
        lambda m: jnp.max(jnp.abs(m)) != n_spins / 2,
        f"`n_spins` = {n_spins} does not match `state` (its magnetizations M must span "
        "[-N/2, N/2]).",
    )
    k = jnp.round(M + n_spins / 2)
    onehot = (k[:, None] == jnp.arange(n_spins + 1, dtype=k.dtype)).astype(state.p.dtype)
    return state.p @ onehot


def energy_distribution(
    state: SteadyState, bins: Float[Array, " B+1"], omega_e: float | None = None
) -> Float[Array, "... B"]:
    """Stationary probability in each energy bin (``bins``: edges in rad/µs, 1-D, at least
    two, strictly increasing; ``±inf`` allowed at the ends) of ``ε'_n`` (rotating-frame
    energy, ``H − ω_e S^z``), or of the lab-frame ``ε_n`` when ``omega_e`` (finite,
    rad/µs) is given. Checked eagerly, or with ``eqx.error_if`` when traced."""
    bins = jnp.asarray(bins, state.p.dtype)
    if bins.ndim != 1 or bins.shape[0] < 2:
        raise ValueError(f"`bins` must be 1-D with at least 2 edges; got shape {bins.shape}.")
    bins = check_value(
        bins,
        lambda b: ~(jnp.diff(b) > 0),
        "`bins` must be strictly increasing (no NaN).",
    )
    if omega_e is not None:
        omega_e = check_value(
            jnp.asarray(omega_e, state.p.dtype),
            lambda w: ~jnp.isfinite(w),
            "`omega_e` must be finite [rad/µs].",
        )
    e = state.energies if omega_e is None else state.energies + omega_e * state.magnetization
    idx = jnp.searchsorted(bins, e, side="right") - 1
    onehot = (idx[..., None] == jnp.arange(bins.shape[0] - 1, dtype=idx.dtype)).astype(
        state.p.dtype
    )
    return jnp.einsum("...n,...nb->...b", state.p, onehot)
