"""[DeLuca16] the streamed pipeline for one large realization (jaxspin/deluca16/_streamed.py).

References: the batched pipeline (:func:`steady_state`, :func:`dnp_profile`, itself tested
against Gibbs states, closed forms and dense solves), the exact Gibbs state without
microwaves, and the sizes of the arrays the estimate counts.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspin
import jaxspin.deluca16 as dl
from jaxspin.deluca16 import _streamed


def _model(n, key=3, **kw):
    return dl.random_model(jax.random.PRNGKey(key), n, dl.table1(U_mhz=15.0, **kw))


@pytest.mark.parametrize("n", [1, 5])
def test_steady_state_matches_batched_pipeline(n):
    model = _model(n, D_mhz=0.05)
    run = dl.steady_state_streamed(model, progress=False)
    ref = dl.steady_state(model)
    st = run.result
    assert bool(st.result == jaxspin.STATIONARY_RESULTS.successful)
    np.testing.assert_allclose(st.p, ref.p, rtol=1e-11)
    np.testing.assert_allclose(st.energies, ref.energies, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(st.sz, ref.sz, atol=1e-12)
    np.testing.assert_allclose(st.iz, ref.iz, atol=1e-12)
    np.testing.assert_allclose(st.nuclear_polarization, ref.nuclear_polarization, rtol=1e-10)
    np.testing.assert_allclose(st.electron_polarization, ref.electron_polarization, rtol=1e-10)
    assert abs(float(ref.nuclear_polarization)) > 1e-3  # microwaves on: a real DNP state
    assert set(run.seconds) == {"ed", "elements", "rates", "solve"}
    assert all(v >= 0 for v in run.seconds.values())
    assert run.peak_rss_bytes > 0


def test_gibbs_state_without_microwaves():
    par = dl.table1(U_mhz=15.0, omega_1_mhz=0.0)
    model = dl.random_model(jax.random.PRNGKey(1), 4, par)
    st = dl.steady_state_streamed(model, progress=False).result
    E = np.asarray(st.energies + par.omega_e * st.magnetization)
    logw = -float(par.beta) * (E - E.min())
    gibbs = np.exp(logw - np.log(np.exp(logw).sum()))
    np.testing.assert_allclose(st.p, gibbs, rtol=1e-10)
    assert gibbs.min() < 1e-9


def test_profile_matches_batched_profile():
    model = _model(4)
    w = model.params.omega_e + dl.mhz(jnp.array([-80.0, -30.0, 0.0, 30.0, 80.0]))
    run = dl.dnp_profile_streamed(model, w, progress=False)
    ref = dl.dnp_profile(model, w)
    prof = run.result
    np.testing.assert_allclose(prof.p, ref.p, rtol=1e-11)
    np.testing.assert_allclose(prof.nuclear_polarization, ref.nuclear_polarization, rtol=1e-10)
    np.testing.assert_allclose(prof.electron_polarization, ref.electron_polarization, rtol=1e-10)
    np.testing.assert_allclose(prof.omega_mw, w)
    assert np.ptp(np.asarray(prof.nuclear_polarization)) > 1e-3  # the profile has structure


def test_kept_bytes_of_the_estimate_are_the_arrays_kept():
    """The estimate counts the elements it keeps exactly (the transient part is a bound)."""
    n = 6
    model = _model(n)
    seconds = dict.fromkeys(("ed", "elements", "rates", "solve"), 0.0)

    class _Bar:
        def update(self, *a):
            pass

    el = _streamed._elements(model, seconds, _Bar())
    kept = sum(x.nbytes for x in jax.tree_util.tree_leaves(el))
    sizes, _, peak = _streamed._plan(n)
    d = np.asarray(sizes)
    counted = 8 * (2 * np.sum(d[:-1] * d[1:]) + np.sum(d * d) + d.sum() * (n + 3))
    assert kept <= counted <= kept + 8 * d.sum() * 2
    assert peak > counted


def test_memory_refused_with_the_number_before_any_work(monkeypatch):
    monkeypatch.setenv("JAXSPIN_MEMORY_LIMIT", "200KB")
    calls = []
    monkeypatch.setattr(_streamed, "_eigh", lambda *a: calls.append(a))
    with pytest.raises(jaxspin.MemoryBudgetError, match=r"N = 7 electron spins \(256 states"):
        dl.steady_state_streamed(_model(7), progress=False)
    assert calls == []


def test_estimates_at_paper_and_beyond_sizes():
    """N = 14 fits a 24 GiB machine streamed (the batched pipeline needs 17 GB); N = 16
    does not, but fits a 141 GB GPU; the work grows like the sector dimension cubed."""
    e14 = dl.streamed_estimate(14, calibrate=False)
    e16 = dl.streamed_estimate(16, calibrate=False)
    assert e14.peak_bytes < 10e9 < dl.spectrum_bytes(14)
    assert 24 * 2**30 < e16.peak_bytes < _streamed.H200_BYTES
    assert 30 < sum(e16.flops.values()) / sum(e14.flops.values()) < 120
    assert e14.seconds is None and "peak memory" in str(e14)
    assert dl.streamed_estimate(14, 5, calibrate=False).flops["solve"] == 5 * e14.flops["solve"]


def test_bad_input():
    with pytest.raises(ValueError, match="one realization"):
        dl.steady_state_streamed(dl.random_models(jax.random.PRNGKey(0), 3, 2, dl.table1()))
    with pytest.raises(ValueError, match="finite and > 0"):
        dl.dnp_profile_streamed(_model(3), jnp.array([1.0, -1.0]), progress=False)
    with pytest.raises(ValueError, match="1-D and non-empty"):
        dl.dnp_profile_streamed(_model(3), jnp.zeros((0,)), progress=False)
    with pytest.raises(ValueError, match="n_spins"):
        dl.streamed_estimate(0)
