"""[DeLuca16] hostile input: every public entry point refuses bad values with a message that
names the argument, eagerly and under ``jit``/``vmap``; sizes that cannot fit are refused
with the number; with ``throw=False`` a bad realization is NaN plus a result code and the
other realizations are unchanged. Tiny systems (N <= 3) only."""

import math
import re

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspin
import jaxspin.deluca16 as dl
from tests import hostile


TRACED_ERRORS = (eqx.EquinoxRuntimeError, jax.errors.JaxRuntimeError)
PAR = dl.table1()
KEY = jax.random.PRNGKey(3)
M2 = dl.random_model(KEY, 2, PAR)  # one realization, N = 2 (8 states)
SPEC2 = dl.diagonalize(M2)  # eager, small
# Stationary-state-like data without running the pipeline: a spin-temperature state over
# two realizations of N = 2 (magnetizations M = k - 1 of the sectors of dims 2, 4, 2).
_E = jnp.array([[-310.0, -290.0, -5.0, -3.0, 2.0, 4.0, 288.0, 305.0]]) * jnp.array([[1.0], [1.1]])
_M = jnp.broadcast_to(jnp.array([-1.0, -1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0]), (2, 8))
STATES = dl.ProfilePoint(jnp.exp(dl.ansatz_log_probabilities(_E, _M, 2e-3, 40.0)), _E, _M)
PROFILE = dl.Profile(
    jnp.zeros((1, 1)), jnp.zeros((1, 1, 2)), STATES.p[:1, None], _E[:1], _M[:1], PAR.omega_mw[None]
)
slow = pytest.mark.slow


def with_param(model, name, value):
    return eqx.tree_at(lambda m: getattr(m.params, name), model, jnp.asarray(value, float))


def par_with(name, value):
    return eqx.tree_at(lambda p: getattr(p, name), PAR, jnp.asarray(value, float))


# --------------------------------------------------------------------------------------
# The table: (id, call(x), good x, bad x, exception, message fragment, traced modes)
# ``call`` is a function of one array argument; "jit" runs jax.jit(call)(bad) and "vmap"
# jax.vmap(call)(stack([good, bad])): both must raise at run time with the same message.
# --------------------------------------------------------------------------------------
CASES = [
    # construction (concrete values are refused at once)
    ("table1 T1e<0", lambda x: dl.table1(T1e_s=x), 1.0, -1.0, ValueError, "`T1e_s`", ()),
    ("table1 T2e=0", lambda x: dl.table1(T2e_s=x), 1e-6, 0.0, ValueError, "`T2e_s`", ()),
    (
        "table1 T=0",
        lambda x: dl.table1(temperature_k=x),
        0.83,
        0.0,
        ValueError,
        "`temperature_k`",
        (),
    ),
    ("table1 B nan", lambda x: dl.table1(B_tesla=x), 3.35, math.nan, ValueError, "`B_tesla`", ()),
    ("table1 U<0", lambda x: dl.table1(U_mhz=x), 15.0, -1.0, ValueError, "`U_mhz`", ()),
    (
        "table1 w1 inf",
        lambda x: dl.table1(omega_1_mhz=x),
        0.025,
        math.inf,
        ValueError,
        "`omega_1_mhz`",
        (),
    ),
    (
        "table1 offset nan",
        lambda x: dl.table1(mw_offset_mhz=x),
        -30.0,
        math.nan,
        ValueError,
        "`mw_offset_mhz`",
        (),
    ),
    ("beta_per_us T<0", dl.beta_per_us, 0.83, -1.0, ValueError, "`temperature_k`", ()),
    (
        "Parameters T1e<0",
        lambda x: dl.Parameters(1e5, 300.0, 100.0, 90.0, 0.3, 0.15, 1e5, x, 1.0, 1e-5),
        1e6,
        -1.0,
        ValueError,
        "`T1e`",
        (),
    ),
    (
        "Parameters omega_mw nan",
        lambda x: dl.Parameters(1e5, 300.0, 100.0, 90.0, 0.3, 0.15, x, 1e6, 1.0, 1e-5),
        1e5,
        math.nan,
        ValueError,
        "`omega_mw`",
        (),
    ),
    (
        "DeLucaModel delta nan",
        lambda x: dl.DeLucaModel(jnp.array([0.0, 1.0]) * x, jnp.zeros((2, 2)), jnp.ones(2), PAR),
        1.0,
        math.nan,
        ValueError,
        "`delta`",
        (),
    ),
    ("random_model N=0", lambda n: dl.random_model(KEY, n, PAR), 2, 0, ValueError, "`n_spins`", ()),
    (
        "random_model N=2.5",
        lambda n: dl.random_model(KEY, n, PAR),
        2,
        2.5,
        ValueError,
        "`n_spins`",
        (),
    ),
    ("random_model key=5", lambda k: dl.random_model(k, 2, PAR), KEY, 5, ValueError, "`key`", ()),
    (
        "random_models R=0",
        lambda r: dl.random_models(KEY, 2, r, PAR),
        1,
        0,
        ValueError,
        "`n_realizations`",
        (),
    ),
    ("offsets N=0", lambda n: dl.equally_spaced_offsets(n, 1.0), 1, 0, ValueError, "`n_spins`", ()),
    ("check_size N=0", dl.check_size, 2, 0, ValueError, "`n_spins`", ()),
    ("check_size batch=0", lambda b: dl.check_size(2, b), 1, 0, ValueError, "`batch`", ()),
    ("spectrum_bytes N=-1", dl.spectrum_bytes, 2, -1, ValueError, "`n_spins`", ()),
    # the pipeline: every model value is checked before any diagonalization
    (
        "steady_state T1e<0",
        lambda t: dl.steady_state(with_param(M2, "T1e", t)).p,
        1e6,
        -1.0,
        ValueError,
        "`model.params.T1e` must be finite and > 0",
        ("jit", "vmap"),
    ),
    (
        "steady_state beta nan",
        lambda b: dl.steady_state(with_param(M2, "beta", b)).p,
        1e-5,
        math.nan,
        ValueError,
        "`model.params.beta`",
        (),
    ),
    (
        "steady_state omega_mw<0",
        lambda w: dl.steady_state(with_param(M2, "omega_mw", w)).p,
        float(PAR.omega_mw),
        -1.0,
        ValueError,
        "`model.params.omega_mw`",
        (),
    ),
    (
        "steady_state delta inf",
        lambda x: dl.steady_state(eqx.tree_at(lambda m: m.delta, M2, M2.delta * x)).p,
        1.0,
        math.inf,
        ValueError,
        "`model.delta`",
        (),
    ),
    (
        "steady_state block 0",
        lambda b: dl.steady_state(M2, block_size=b).p,
        1,
        0,
        ValueError,
        "`block_size`",
        (),
    ),
    ("relaxation k=0", lambda k: dl.relaxation_rates(M2, k), 1, 0, ValueError, "`k`", ()),
    ("relaxation k=8", lambda k: dl.relaxation_rates(M2, k), 7, 8, ValueError, "`k`", ()),
    (
        "relaxation T2e=0",
        lambda t: dl.relaxation_rates(with_param(M2, "T2e", t)),
        1.0,
        0.0,
        ValueError,
        "`model.params.T2e`",
        (),
    ),
    (
        "dnp_profile omega nan",
        lambda w: dl.dnp_profile(M2, jnp.stack([PAR.omega_mw, w])).nuclear_polarization,
        float(PAR.omega_mw),
        math.nan,
        ValueError,
        "`omega_mw` must be finite and > 0",
        ("jit",),
    ),
    (
        "dnp_profile empty",
        lambda w: dl.dnp_profile(M2, w),
        PAR.omega_mw[None],
        jnp.zeros(0),
        ValueError,
        "`omega_mw`",
        (),
    ),
    (
        "dnp_profile omega_1<0",
        lambda w: dl.dnp_profile(with_param(M2, "omega_1", w), PAR.omega_mw[None]).p,
        0.1,
        -0.1,
        ValueError,
        "`model.params.omega_1`",
        (),
    ),
    ("sector k=-1", lambda k: dl.sector_hamiltonian(M2, k), 0, -1, ValueError, "`k`", ()),
    ("sector k=N+1", lambda k: dl.sector_hamiltonian(M2, k), 2, 3, ValueError, "`k`", ()),
    (
        "sector batched",
        lambda m: dl.sector_hamiltonian(m, 0),
        M2,
        dl.random_models(KEY, 2, 2, PAR),
        ValueError,
        "one realization",
        (),
    ),
    (
        "diagonalize omega_n nan",
        lambda w: dl.diagonalize(with_param(M2, "omega_n", w)).energies[1],
        float(PAR.omega_n),
        math.nan,
        ValueError,
        "`model.params.omega_n`",
        ("jit", "vmap"),
    ),
    (
        "diagonalize U nan",
        lambda x: dl.diagonalize(eqx.tree_at(lambda m: m.U, M2, M2.U + x)).energies[1],
        0.0,
        math.nan,
        ValueError,
        "`model.U`",
        ("jit",),
    ),
    (
        "matrix_elements wrong N",
        lambda n: dl.matrix_elements(SPEC2, n),
        2,
        3,
        ValueError,
        "`spec`",
        (),
    ),
    (
        "rate_blocks T1e<0",
        lambda t: dl.rate_blocks(with_param(M2, "T1e", t), SPEC2, dl.matrix_elements(SPEC2, 2)),
        1e6,
        -1.0,
        ValueError,
        "`model.params.T1e`",
        (),
    ),
    ("mbl site=N", lambda s: dl.eigenstate_polarizations(M2, s), 1, 2, ValueError, "`site`", ()),
    (
        "mbl site=0.5",
        lambda s: dl.eigenstate_polarizations(M2, s),
        0,
        0.5,
        ValueError,
        "`site`",
        (),
    ),
    (
        "mbl delta nan",
        lambda x: dl.level_polarization_jumps(eqx.tree_at(lambda m: m.delta, M2, M2.delta * x)),
        1.0,
        math.nan,
        ValueError,
        "`model.delta`",
        (),
    ),
    # the spin-temperature analysis
    (
        "magnetization_distribution wrong N",
        lambda n: dl.magnetization_distribution(STATES, n),
        2,
        3,
        ValueError,
        "`n_spins` = 3 does not match",
        (),
    ),
    (
        "magnetization_distribution traced M",
        lambda s: dl.magnetization_distribution(
            eqx.tree_at(lambda t: t.magnetization, STATES, STATES.magnetization * s), 2
        ),
        1.0,
        2.0,
        ValueError,
        "does not match",
        ("jit",),
    ),
    (
        "energy_distribution bins decreasing",
        lambda s: dl.energy_distribution(STATES, s * jnp.linspace(-2e3, 2e3, 5)),
        1.0,
        -1.0,
        ValueError,
        "`bins` must be strictly increasing",
        ("jit", "vmap"),
    ),
    (
        "energy_distribution bins nan",
        lambda x: dl.energy_distribution(
            STATES, jnp.array([-1e3, 0.0, 1e3]) + jnp.array([0.0, x, 0.0])
        ),
        0.0,
        math.nan,
        ValueError,
        "`bins`",
        (),
    ),
    (
        "energy_distribution one edge",
        lambda b: dl.energy_distribution(STATES, b),
        jnp.array([0.0, 1.0]),
        jnp.array([0.0]),
        ValueError,
        "`bins`",
        (),
    ),
    (
        "energy_distribution omega_e nan",
        lambda w: dl.energy_distribution(STATES, jnp.linspace(-1e6, 1e6, 3), w),
        float(PAR.omega_e),
        math.nan,
        ValueError,
        "`omega_e`",
        ("jit",),
    ),
    (
        "fit p nan",
        lambda x: (
            dl.fit_spin_temperature(
                eqx.tree_at(lambda s: s.p, STATES, STATES.p + x), PAR.omega_e
            ).beta_s
        ),
        0.0,
        math.nan,
        ValueError,
        "`states.p`",
        ("jit",),
    ),
    (
        "fit p not normalised",
        lambda x: (
            dl.fit_spin_temperature(
                eqx.tree_at(lambda s: s.p, STATES, STATES.p * x), PAR.omega_e
            ).beta_s
        ),
        1.0,
        2.0,
        ValueError,
        "sum to 1",
        (),
    ),
    (
        "fit omega_e<0",
        lambda w: dl.fit_spin_temperature(STATES, w),
        PAR.omega_e,
        -1.0,
        ValueError,
        "`omega_e`",
        (),
    ),
    (
        "fit max_steps 0",
        lambda n: dl.fit_spin_temperature(STATES, PAR.omega_e, max_steps=n),
        256,
        0,
        ValueError,
        "`max_steps`",
        (),
    ),
    (
        "PE offsets one spin",
        lambda o: dl.perturbative_spin_temperature(PAR, order=0, offsets=o),
        jnp.array([-1.0, 1.0]),
        jnp.array([1.0]),
        ValueError,
        "`offsets`",
        (),
    ),
    (
        "PE offsets equal (order 2)",
        lambda x: (
            dl.perturbative_spin_temperature(PAR, offsets=jnp.array([-100.0, 100.0, x])).beta_s
        ),
        50.0,
        100.0,
        ValueError,
        "pairwise distinct",
        ("jit",),
    ),
    (
        "PE offsets nan",
        lambda x: (
            dl.perturbative_spin_temperature(PAR, order=0, offsets=jnp.array([-100.0, x])).beta_s
        ),
        100.0,
        math.nan,
        ValueError,
        "`offsets`",
        (),
    ),
    (
        "PE T1e<0",
        lambda t: dl.perturbative_spin_temperature(par_with("T1e", t), order=0).beta_s,
        1e6,
        -1.0,
        ValueError,
        "`params.T1e`",
        ("jit", "vmap"),
    ),
    (
        "PE width 0",
        lambda w: dl.perturbative_spin_temperature(par_with("delta_omega_e", w), order=0).beta_s,
        300.0,
        0.0,
        ValueError,
        "`params.delta_omega_e`",
        (),
    ),
    (
        "PE max_steps 0",
        lambda n: dl.perturbative_spin_temperature(PAR, order=0, max_steps=n),
        256,
        0,
        ValueError,
        "`max_steps`",
        (),
    ),
    (
        "kappa T2e<0",
        lambda t: dl.kappa(jnp.array(0.0), 1e-3, 0.0, par_with("T2e", t)),
        1.0,
        -1.0,
        ValueError,
        "`params.T2e`",
        ("jit", "vmap"),
    ),
    (
        "kl_divergence p<0",
        lambda x: dl.kl_divergence(
            eqx.tree_at(lambda s: s.p, STATES, STATES.p.at[..., 0].add(x)),
            dl.SpinTemperature(1e-3, 0.0, 0.0, True),
        ),
        0.0,
        -1.0,
        ValueError,
        "`state.p` has negative entries",
        ("jit",),
    ),
    (
        "Profile.at out of range",
        lambda i: PROFILE.at(i),
        0,
        1,
        ValueError,
        "`i`",
        (),
    ),
]

IDS = [c[0] for c in CASES]


# Each of these compiles a pipeline of its own (a few seconds): run with -m slow.
SLOW_GOOD = {
    "steady_state T1e<0", "steady_state beta nan", "steady_state omega_mw<0",
    "steady_state delta inf", "steady_state block 0", "rate_blocks T1e<0", "random_models R=0",
    "relaxation k=0", "relaxation k=8", "relaxation T2e=0", "dnp_profile omega nan",
    "dnp_profile empty", "dnp_profile omega_1<0", "mbl site=N", "mbl site=0.5",
    "mbl delta nan", "PE offsets one spin", "PE offsets equal (order 2)", "PE offsets nan",
    "PE T1e<0", "PE width 0", "PE max_steps 0",
}  # fmt: skip
SLOW_TRACED = {
    ("steady_state T1e<0", "vmap"), ("dnp_profile omega nan", "jit"), ("fit p nan", "jit"),
    ("PE offsets equal (order 2)", "jit"), ("PE T1e<0", "jit"), ("PE T1e<0", "vmap"),
}  # fmt: skip


test_refused_eagerly, test_good_value_accepted, test_refused_when_traced = (
    hostile.value_table_tests(CASES, SLOW_GOOD, SLOW_TRACED)
)


# --------------------------------------------------------------------------------------
# Memory: the dense pipelines refuse with the number before allocating
# --------------------------------------------------------------------------------------
MEMORY_CASES = [
    ("steady_state", lambda m: dl.steady_state(m)),
    ("relaxation_rates", lambda m: dl.relaxation_rates(m)),
    ("dnp_profile", lambda m: dl.dnp_profile(m, PAR.omega_mw[None])),
    ("diagonalize", lambda m: dl.diagonalize(m)),
    ("sector_hamiltonian", lambda m: dl.sector_hamiltonian(m, 2)),
]


@pytest.mark.parametrize("name,call", MEMORY_CASES, ids=[c[0] for c in MEMORY_CASES])
def test_memory_refused_with_the_number(monkeypatch, name, call):
    model = dl.random_model(KEY, 5, PAR)
    monkeypatch.setenv("JAXSPIN_MEMORY_LIMIT", "20K")
    with pytest.raises(jaxspin.MemoryBudgetError, match=r"N = 5 electron spins .*needs about"):
        call(model)


def test_eigenstate_memory_refused_with_the_number(monkeypatch):
    """Fig. 4 diagonalizes one electron sector (N = 5: 10 states, about 4.5 KB), not the
    whole pipeline: it fits in 20 KB, and is refused with the number below its size."""
    model = dl.random_model(KEY, 5, PAR)
    monkeypatch.setenv("JAXSPIN_MEMORY_LIMIT", "20K")
    dl.eigenstate_polarizations(model)
    monkeypatch.setenv("JAXSPIN_MEMORY_LIMIT", "2K")
    with pytest.raises(jaxspin.MemoryBudgetError, match=r"N = 5 electron spins .*needs about"):
        dl.eigenstate_polarizations(model)


def test_memory_counts_the_block_of_realizations(monkeypatch):
    """64 realizations at once need 64x the memory of one: refused, while block_size=1 fits."""
    models = jax.tree_util.tree_map(lambda a: jnp.broadcast_to(a, (64,) + a.shape), M2)
    per = dl.spectrum_bytes(2)
    monkeypatch.setenv("JAXSPIN_MEMORY_LIMIT", str(int(per * 10)))
    with pytest.raises(jaxspin.MemoryBudgetError, match="64 realization"):
        dl.steady_state(models)
    with pytest.raises(jaxspin.MemoryBudgetError, match="16 realization"):
        dl.steady_state(models, block_size=16)
    dl.check_size(2, 1)  # one at a time fits


# --------------------------------------------------------------------------------------
# throw=False: one bad realization never kills the batch
# --------------------------------------------------------------------------------------
# three realizations of N = 1 (4 states), stacked by hand (no vmap to compile)
M1 = dl.DeLucaModel(jnp.zeros((3, 1)), jnp.zeros((3, 1, 1)), jnp.array([[0.1], [0.2], [0.3]]), PAR)
INVALID = jaxspin.STATIONARY_RESULTS.invalid_input
OK = jaxspin.STATIONARY_RESULTS.successful
VALID = jnp.array([0, 2])


def _with_bad_t1e(models, value=-1.0):
    t1e = jnp.array([float(PAR.T1e), value, float(PAR.T1e)])
    return eqx.tree_at(lambda m: m.params.T1e, models, t1e)


def test_steady_state_throw_false_flags_only_the_bad_realization():
    bad_batch = _with_bad_t1e(M1)
    with pytest.raises(ValueError, match=re.escape("`model.params.T1e`")):
        dl.steady_state(bad_batch)
    st = dl.steady_state(bad_batch, throw=False)
    ref = dl.steady_state(M1, throw=False)  # the same compiled program, all valid
    assert [bool(x) for x in st.result == INVALID] == [False, True, False]
    assert bool(jnp.all(ref.result == OK))
    assert bool(jnp.all(jnp.isnan(st.p[1]))) and bool(jnp.isnan(st.nuclear_polarization[1]))
    assert bool(jnp.all(jnp.isfinite(st.magnetization[1])))
    for i in (0, 2):
        np.testing.assert_allclose(st.p[i], ref.p[i], rtol=1e-14, atol=0)
        np.testing.assert_allclose(st.nuclear_polarization[i], ref.nuclear_polarization[i])


def test_steady_state_throw_false_under_vmap():
    """The model is built inside vmap from traced values: the NaN point gets its code."""
    m = dl.DeLucaModel(M1.delta[0], M1.U[0], M1.D[0], PAR)

    def pn(t):
        st = dl.steady_state(with_param(m, "T1e", t), throw=False)
        return st.nuclear_polarization, st.result == INVALID

    out, invalid = jax.vmap(pn)(jnp.array([float(PAR.T1e), math.nan]))
    assert [bool(x) for x in invalid] == [False, True]
    assert bool(jnp.isnan(out[1])) and bool(jnp.isfinite(out[0]))
    # the valid point is unchanged by its invalid neighbour (same compiled program)
    clean, invalid = jax.vmap(pn)(jnp.array([float(PAR.T1e), float(PAR.T1e)]))
    assert not bool(jnp.any(invalid))
    np.testing.assert_array_equal(out[0], clean[0])


@slow
def test_throw_false_leaves_valid_numbers_unchanged():
    models = dl.random_models(KEY, 2, 3, PAR)
    np.testing.assert_array_equal(dl.steady_state(models, throw=False).p, dl.steady_state(models).p)


@slow
def test_relaxation_and_profile_throw_false():
    bad_batch = _with_bad_t1e(M1)
    rates = dl.relaxation_rates(bad_batch, throw=False)
    assert bool(jnp.all(jnp.isnan(rates[1])))
    np.testing.assert_allclose(rates[VALID], dl.relaxation_rates(M1)[VALID], rtol=1e-10)
    w = jnp.stack([PAR.omega_mw, jnp.nan])
    prof = dl.dnp_profile(bad_batch, w, throw=False)
    assert bool(jnp.all(jnp.isnan(prof.nuclear_polarization[1])))  # bad realization
    assert bool(jnp.all(jnp.isnan(prof.nuclear_polarization[:, 1])))  # bad frequency
    ok = dl.dnp_profile(M1, PAR.omega_mw[None]).nuclear_polarization
    np.testing.assert_allclose(prof.nuclear_polarization[VALID, 0], ok[VALID, 0], rtol=1e-12)


def test_fit_throw_false():
    bad = eqx.tree_at(lambda s: s.p, STATES, STATES.p.at[0, 0].set(jnp.nan))
    fm = dl.fit_spin_temperature(bad, PAR.omega_e, throw=False)
    assert not bool(fm.converged) and bool(jnp.isnan(fm.beta_s))
    ref = dl.fit_spin_temperature(STATES, PAR.omega_e, throw=False)
    assert bool(ref.converged)
    np.testing.assert_allclose(ref.beta_s, 2e-3, rtol=1e-9)


@slow
def test_batched_fit_and_pe_throw_false():
    bad = eqx.tree_at(lambda s: s.p, STATES, STATES.p.at[0, 0].set(jnp.nan))
    stacked = jax.tree_util.tree_map(lambda a, b: jnp.stack([a, b]), STATES, bad)
    fits = jax.vmap(lambda s: dl.fit_spin_temperature(s, PAR.omega_e, throw=False))(stacked)
    assert [bool(c) for c in fits.converged] == [True, False]
    np.testing.assert_allclose(fits.beta_s[0], 2e-3, rtol=1e-9)
    pe = jax.vmap(
        lambda t: dl.perturbative_spin_temperature(par_with("T1e", t), order=0, throw=False)
    )(jnp.array([float(PAR.T1e), -1.0]))
    assert [bool(c) for c in pe.converged] == [True, False]
    assert bool(jnp.isnan(pe.beta_s[1]))
    np.testing.assert_allclose(
        pe.beta_s[0], dl.perturbative_spin_temperature(PAR, order=0).beta_s, rtol=1e-10
    )


@slow
def test_non_convergence_raises_inside_jit():
    """throw=True ends with an eqx.error_if when traced (was a TracerBoolConversionError)."""
    fn = jax.jit(lambda p: dl.perturbative_spin_temperature(p, order=0, max_steps=1).beta_s)
    with pytest.raises(TRACED_ERRORS) as err:
        jax.block_until_ready(fn(PAR))
    assert "did not converge" in str(err.value)
    ok = jax.jit(lambda p: dl.perturbative_spin_temperature(p, order=0).beta_s)(PAR)
    np.testing.assert_allclose(ok, dl.perturbative_spin_temperature(PAR, order=0).beta_s)
