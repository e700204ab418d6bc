"""[DeLuca16] stationary state of the rate equation (11): equilibrium, single-spin closed
form, normalisation, profile, relaxation rate, gradients, dependence on the hyperfine D."""

import jax
import jax.numpy as jnp
import numpy as np

import jaxspin
import jaxspin.deluca16 as dl
from jaxspin.deluca16._ed import diagonalize
from jaxspin.deluca16._rates import matrix_elements, rate_blocks


def test_gibbs_without_microwaves():
    """ω_1 = 0: detailed balance at the lattice temperature, lab-frame energies (Eq. (17)
    with β_s = β, h = 0), and P_n = tanh(βω_n/2) [Eq. (1)]."""
    par = dl.table1(U_mhz=15.0, omega_1_mhz=0.0)
    models = dl.random_models(jax.random.PRNGKey(1), 4, 2, par)
    st = dl.steady_state(models)
    E = np.asarray(st.energies + par.omega_e * st.magnetization)
    logw = -float(par.beta) * (E - E.min(axis=-1, keepdims=True))
    gibbs = np.exp(logw - np.log(np.exp(logw).sum(axis=-1, keepdims=True)))
    np.testing.assert_allclose(st.p, gibbs, rtol=1e-10)
    assert gibbs.min() < 1e-9  # the check spans many decades
    np.testing.assert_allclose(
        st.nuclear_polarization, np.tanh(float(par.beta * par.omega_n) / 2), rtol=1e-10
    )


def test_probabilities_nonnegative_normalised():
    par = dl.table1(U_mhz=15.0, D_mhz=0.05)
    models = dl.random_models(jax.random.PRNGKey(2), 4, 3, par)
    st = dl.steady_state(models)
    assert bool(jnp.all(st.p >= 0))
    np.testing.assert_allclose(jnp.sum(st.p, axis=-1), 1.0, rtol=1e-13)
    pm = dl.magnetization_distribution(st, 4)
    np.testing.assert_allclose(jnp.sum(pm, axis=-1), 1.0, rtol=1e-13)
    bins = jnp.linspace(-2000.0, 2000.0, 41)
    np.testing.assert_allclose(jnp.sum(dl.energy_distribution(st, bins), axis=-1), 1.0, rtol=1e-13)
    # the stationary vector solves G p = 0 for the assembled rate matrix
    m0 = jax.tree_util.tree_map(lambda a: a[0], models)
    spec = diagonalize(m0)
    W = rate_blocks(m0, spec, matrix_elements(spec, 4)).dense()
    r = jaxspin.generator(W) @ st.p[0]
    assert float(jnp.max(jnp.abs(r))) < 1e-12 * float(jnp.max(W))


def test_single_spin_saturation_closed_form():
    """N = 1 (hyperfine negligible): the electron obeys dP/dt = (P0 − P)/T1e − 2W P with the
    Eq. (16) rate W = ω_1² T2e /(1 + T2e²(ω − ω_MW)²), so P = P0 / (1 + 2 T1e W)."""
    par = dl.table1(U_mhz=0.0, D_mhz=1e-4)
    model = dl.DeLucaModel(jnp.array([0.7]), jnp.zeros((1, 1)), jnp.array([1e-4]), par)
    detunings = jnp.linspace(-3.0, 3.0, 7)  # rad/µs around the line
    pe = dl.dnp_profile(model, par.omega_e + 0.7 + detunings).electron_polarization
    p0 = -np.tanh(float(par.beta) * (float(par.omega_e) + 0.7) / 2)
    w = float(par.omega_1) ** 2 * float(par.T2e) / (1 + (float(par.T2e) * detunings) ** 2)
    np.testing.assert_allclose(pe[:, 0], p0 / (1 + 2 * float(par.T1e) * w), rtol=1e-7)


def test_profile_matches_steady_state():
    par = dl.table1(U_mhz=20.0)
    model = dl.random_model(jax.random.PRNGKey(3), 3, par)
    offsets = jnp.array([-40.0, 10.0])
    prof = dl.dnp_profile(model, par.omega_e + dl.mhz(offsets))
    pn, pe = prof.nuclear_polarization, prof.electron_polarization
    for i, off in enumerate(offsets):
        m = dl.DeLucaModel(
            model.delta, model.U, model.D, dl.table1(U_mhz=20.0, mw_offset_mhz=float(off))
        )
        st = dl.steady_state(m)
        np.testing.assert_allclose(pn[i], st.nuclear_polarization, rtol=1e-10)
        np.testing.assert_allclose(pe[i], st.electron_polarization, rtol=1e-10)


def test_relaxation_rate_matches_dense():
    par = dl.table1(U_mhz=15.0)
    model = dl.random_model(jax.random.PRNGKey(4), 3, par)
    spec = diagonalize(model)
    W = rate_blocks(model, spec, matrix_elements(spec, 3)).dense()
    dense = jaxspin.relaxation_rates(W, 2)
    ours = dl.relaxation_rates(model, 2)
    # dense eigenvalues carry absolute errors ~ eps·|W| (the slowest rate is 1e-5 of the next)
    np.testing.assert_allclose(ours, dense, rtol=1e-8, atol=1e-14 * float(jnp.max(W)))
    # the slowest mode is the nuclear spin's: it scales as D²
    m2 = dl.DeLucaModel(model.delta, model.U, 0.5 * model.D, par)
    np.testing.assert_allclose(dl.relaxation_rates(m2, 1)[0] / ours[0], 0.25, rtol=1e-3)


def test_gradients_match_finite_differences():
    par = dl.table1(U_mhz=15.0)
    model = dl.random_model(jax.random.PRNGKey(5), 3, par)

    def pn(scale_u, omega_1):
        p = dl.Parameters(
            par.omega_e,
            par.delta_omega_e,
            par.omega_n,
            par.U,
            par.D,
            omega_1,
            par.omega_mw,
            par.T1e,
            par.T2e,
            par.beta,
        )
        m = dl.DeLucaModel(model.delta, scale_u * model.U, model.D, p)
        return dl.steady_state(m).nuclear_polarization

    f = jax.jit(pn)
    g = jax.jit(jax.grad(pn, argnums=(0, 1)))(1.0, par.omega_1)
    h = 1e-5
    fd_u = (f(1.0 + h, par.omega_1) - f(1.0 - h, par.omega_1)) / (2 * h)
    fd_w = (f(1.0, par.omega_1 * (1 + h)) - f(1.0, par.omega_1 * (1 - h))) / (2 * h * par.omega_1)
    np.testing.assert_allclose(g[0], fd_u, rtol=1e-5)
    np.testing.assert_allclose(g[1], fd_w, rtol=1e-5)


def test_nuclear_polarization_insensitive_to_D():
    """The nucleus is a thermometer: every nuclear-flip rate scales as D², so P_n has a
    finite D → 0 limit; over a decade of D it moves by well under a percent."""
    par = dl.table1(U_mhz=15.0)
    model = dl.random_model(jax.random.PRNGKey(6), 4, par)
    pns = []
    for scale in (0.2, 1.0, 2.0):
        m = dl.DeLucaModel(model.delta, model.U, scale * model.D, par)
        pns.append(float(dl.steady_state(m).nuclear_polarization))
    assert abs(pns[0]) > 1e-2
    np.testing.assert_allclose(pns[1] / pns[0], 1.0, atol=5e-3)
    np.testing.assert_allclose(pns[2] / pns[0], 1.0, atol=2e-2)
