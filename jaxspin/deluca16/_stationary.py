"""Public entry points of the rate-equation pipeline [DeLuca16, Sec. III A, Eqs. (11), (26)].

Each takes a :class:`DeLucaModel` with any leading batch shape (realizations, parameter
grids), checks memory before anything is allocated, and maps the single-realization
kernel over the batch (``jax.vmap`` in blocks of ``block_size`` realizations, see
``jaxspin._batching.map_batched``).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._batching import map_batched
from .._ratematrix import STATIONARY_RESULTS, stationary_block_tridiagonal
from ._ed import check_size, diagonalize, magnetizations
from ._model import DeLucaModel
from ._rates import (
    SteadyState,
    diagonal_expectations,
    matrix_elements,
    rate_blocks,
    slowest_relaxation_kernel,
    steady_state_kernel,
)


_CORE_NDIMS = {"delta": 1, "U": 2, "D": 1}


def _check_model(model: DeLucaModel) -> tuple[int, ...]:
    if not isinstance(model, DeLucaModel):
        raise ValueError(f"`model` must be a DeLucaModel; got {type(model).__name__}.")
    n = model.n_spins
    if model.U.shape[-2:] != (n, n) or model.D.shape[-1] != n:
        raise ValueError(
            f"`model` has delta {model.delta.shape}, U {model.U.shape}, D {model.D.shape}; "
            "expected (..., N), (..., N, N), (..., N)."
        )
    leaves = jax.tree_util.tree_leaves(model.params)
    shapes = [model.delta.shape[:-1], model.U.shape[:-2], model.D.shape[:-1]]
    shapes += [leaf.shape for leaf in leaves]
    try:
        return tuple(jnp.broadcast_shapes(*shapes))
    except ValueError as err:
        raise ValueError(f"Batch shapes of the model's arrays do not broadcast: {shapes}.") from err


def map_models(kernel, model: DeLucaModel, *extra, block_size: int | None = None):
    """Map ``kernel(model_i, *extra)`` over the leading batch axes of ``model`` (the extra
    arguments are shared)."""
    leaves, treedef = jax.tree_util.tree_flatten(model)
    fields = ["delta", "U", "D"] + ["params"] * (len(leaves) - 3)
    core = [_CORE_NDIMS.get(f, 0) for f in fields]

    def one(*xs):
        return kernel(jax.tree_util.tree_unflatten(treedef, list(xs)), *extra)

    return map_batched(one, leaves, core, [f"model.{f}" for f in fields], block_size=block_size)


def _block(batch: tuple[int, ...], n_spins: int, block_size: int | None) -> int:
    size = int(np.prod(batch, dtype=np.int64)) if batch else 1
    block = min(size, block_size or 64)
    check_size(n_spins, block)
    return block


@eqx.filter_jit
def _steady_jit(model, block, throw):
    out = map_models(steady_state_kernel, model, block_size=block)
    if throw:
        p = out.result.error_if(out.p, out.result != STATIONARY_RESULTS.successful)
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
    once (memory is checked for that many before anything is allocated; default 64).
    Raises (``throw=True``) or flags ``result`` if the stationary state is not unique.

    Returns :class:`SteadyState` (``p``, energies, magnetizations, ``P_n`` Eq. (26), ``P_i``).

    Example:
        >>> import jax, jaxspin.deluca16 as dl
        >>> model = dl.random_model(jax.random.PRNGKey(0), 4, dl.table1(omega_1_mhz=0.0))
        >>> st = dl.steady_state(model)   # no microwaves: Gibbs state, P_n = tanh(βω_n/2)
        >>> round(float(st.nuclear_polarization), 7)
        0.0005782
    """
    batch = _check_model(model)
    block = _block(batch, model.n_spins, block_size)
    return _steady_jit(model, block, throw)


@eqx.filter_jit
def _relax_jit(model, k, block):
    return map_models(lambda m: slowest_relaxation_kernel(m, k), model, block_size=block)


def relaxation_rates(
    model: DeLucaModel, k: int = 1, *, block_size: int | None = None
) -> Float[Array, "... k"]:
    """The ``k`` slowest relaxation rates [1/µs] of the master equation (11) per realization
    (subspace iteration on the block-tridiagonal generator; see
    :func:`jaxspin.relaxation_rates_block_tridiagonal`). With the default small ``D`` the
    slowest one is the relaxation of the nuclear spin (it scales as ``D²``)."""
    batch = _check_model(model)
    block = _block(batch, model.n_spins, block_size)
    return _relax_jit(model, k, block)


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
        return ProfilePoint(self.p[..., i, :], self.energies, self.magnetization)


class ProfilePoint(eqx.Module):
    """Stationary probabilities with their eigenstates' energies and magnetizations (the
    fields :func:`fit_spin_temperature` and :func:`kl_divergence` read)."""

    p: Float[Array, "... n"]
    energies: Float[Array, "... n"]
    magnetization: Float[Array, "... n"]


def _profile_kernel(model: DeLucaModel, omega_mw: Float[Array, " F"]):
    n = model.n_spins
    spec = diagonalize(model)
    elements = matrix_elements(spec, n)
    sz, iz = diagonal_expectations(spec, n)

    def at(w):
        m = eqx.tree_at(lambda m: m.params.omega_mw, model, w)
        st = stationary_block_tridiagonal(rate_blocks(m, spec, elements), throw=False)
        ok = st.result == STATIONARY_RESULTS.successful
        p = jnp.where(ok, st.p, jnp.nan)
        return 2.0 * jnp.dot(p, iz), 2.0 * (p @ sz), p

    pn, pe, p = jax.lax.map(at, omega_mw)
    return pn, pe, p, jnp.concatenate(spec.energies), magnetizations(n)


@eqx.filter_jit
def _profile_jit(model, omega_mw, block):
    return map_models(_profile_kernel, model, omega_mw, block_size=block)


def dnp_profile(
    model: DeLucaModel, omega_mw: Float[Array, " F"], *, block_size: int | None = None
) -> Profile:
    """DNP profile [DeLuca16, Fig. 2]: the stationary state at every microwave frequency
    ``omega_mw`` (lab frame, rad/µs; 1-D) for every realization in ``model``. The spectrum
    and matrix elements are computed once per realization; only the microwave rates
    change along the profile. Returns a :class:`Profile`."""
    batch = _check_model(model)
    omega_mw = jnp.asarray(omega_mw, jnp.result_type(float))
    if omega_mw.ndim != 1:
        raise ValueError(f"`omega_mw` must be 1-D; got shape {omega_mw.shape}.")
    block = _block(batch, model.n_spins, block_size)
    pn, pe, p, energies, magnetization = _profile_jit(model, omega_mw, block)
    return Profile(pn, pe, p, energies, magnetization, omega_mw)


def magnetization_distribution(state: SteadyState, n_spins: int) -> Float[Array, "... K"]:
    """Probability of each total electron magnetization ``M = k − N/2``, ``k = 0..N``
    (the stationary ``S^z`` distribution)."""
    M = np.asarray(state.magnetization).reshape(-1, state.magnetization.shape[-1])[0]
    onehot = jnp.asarray(
        np.round(M + n_spins / 2).astype(int)[:, None] == np.arange(n_spins + 1), state.p.dtype
    )
    return state.p @ onehot


def energy_distribution(
    state: SteadyState, bins: Float[Array, " B+1"], omega_e: float | None = None
) -> Float[Array, "... B"]:
    """Stationary probability in each energy bin (``bins``: edges in rad/µs) of
    ``ε'_n`` (rotating-frame energy, ``H − ω_e S^z``), or of the lab-frame ``ε_n`` when
    ``omega_e`` is given."""
    e = state.energies if omega_e is None else state.energies + omega_e * state.magnetization
    bins = jnp.asarray(bins, state.p.dtype)
    idx = jnp.searchsorted(bins, e, side="right") - 1
    onehot = (idx[..., None] == jnp.arange(bins.shape[0] - 1, dtype=idx.dtype)).astype(
        state.p.dtype
    )
    return jnp.einsum("...n,...nb->...b", state.p, onehot)
