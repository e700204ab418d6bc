"""No avoidable recompiles (issue 15, item 2): the common user loops compile once.

Counts XLA backend compilations with ``jax.monitoring`` (the event JAX records for every
backend compile, eager one-op kernels included, so inputs are built before counting). A
second call with new values of the same shape, with NumPy instead of JAX arrays, with
Python floats instead of 0-d arrays, or with a model whose field was replaced by a plain
float must compile nothing."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspin
import jaxspin.deluca16 as dl
from jaxspin import danon11, smirnov24


_COUNT = [0]
_EVENT = "/jax/core/compile/backend_compile_duration"


def _listener(name, duration, **kwargs):
    if name == _EVENT:
        _COUNT[0] += 1


jax.monitoring.register_event_duration_secs_listener(_listener)


def compiles(fn) -> int:
    """Backend compilations during ``fn()`` (its result blocked on)."""
    before = _COUNT[0]
    jax.block_until_ready(fn())
    return _COUNT[0] - before


def test_the_counter_sees_a_compilation():
    """A check that the counter can fail: a new jitted function compiles."""
    assert compiles(lambda: jax.jit(lambda x: x * 3.0 + 1.0)(jnp.ones(7))) >= 1


def test_steadystate_new_values_and_numpy_inputs_reuse_the_compilation():
    sx, _, sz, _, sm = jaxspin.spin_operators(0.5)
    compiles(lambda: jaxspin.steadystate(sz, [sm]).rho)  # may be cached by an earlier test
    H2, c2 = jax.block_until_ready((0.3 * sz + sx, 0.5 * sm))
    assert compiles(lambda: jaxspin.steadystate(H2, [c2]).rho) == 0
    H3, c3 = np.asarray(H2), np.asarray(c2)
    assert compiles(lambda: jaxspin.steadystate(H3, [c3]).rho) == 0


def test_smirnov24_python_floats_and_arrays_share_one_compilation():
    p = smirnov24.Parameters.paper(1.0)
    compiles(lambda: smirnov24.inverse_spin_temperature(p, 1.0))
    q = smirnov24.Parameters.paper(2.0)
    assert compiles(lambda: smirnov24.inverse_spin_temperature(q, 3.0)) == 0
    q, b = smirnov24.Parameters.paper(jnp.asarray(2.0)), jnp.asarray(3.0)
    assert compiles(lambda: smirnov24.inverse_spin_temperature(q, b)) == 0


@pytest.mark.timeout(300)
def test_smirnov24_optimal_field_new_tau_compiles_nothing():
    compiles(lambda: smirnov24.optimal_field(smirnov24.Parameters.paper(1.0)))
    p = smirnov24.Parameters.paper(3.0)
    assert compiles(lambda: smirnov24.optimal_field(p)) == 0


def test_deluca16_new_realization_and_float_field_compile_nothing():
    par = dl.table1()
    model = dl.random_model(jax.random.PRNGKey(0), 3, par)
    compiles(lambda: dl.steady_state(model).p)
    other = jax.block_until_ready(dl.random_model(jax.random.PRNGKey(1), 3, par))
    assert compiles(lambda: dl.steady_state(other).p) == 0
    # a field replaced by a plain Python float (not a 0-d array): same compilation
    replaced = eqx.tree_at(lambda m: m.params.T1e, model, 2.0)
    assert isinstance(replaced.params.T1e, float)
    assert compiles(lambda: dl.steady_state(replaced).p) == 0


@pytest.mark.parametrize("dense", [True, False], ids=["dense", "matrix-free"])
def test_mesolve_repeated_calls_compile_nothing(dense):
    """Issue 17: mesolve compiled on every call; both paths now reuse diffrax's compilation."""
    sx, _, sz, _, sm = jaxspin.spin_operators(0.5)
    rho0, ts = jnp.eye(2, dtype=complex) / 2, jnp.linspace(0.0, 1.0, 5)
    compiles(lambda: jaxspin.mesolve(sx, [sm], rho0, ts, dense=dense).ys)
    H2 = jax.block_until_ready(0.5 * sx + sz)
    assert compiles(lambda: jaxspin.mesolve(sx, [sm], rho0, ts, dense=dense).ys) == 0
    assert compiles(lambda: jaxspin.mesolve(H2, [sm], rho0, ts, dense=dense).ys) == 0


def _double_dot(detuning, **kw):
    return danon11.DoubleDot(detuning, 0.5, 1.0, coupling=10.0, num_nuclei=10.0, **kw)


def test_danon11_build_up_new_python_floats_compile_nothing():
    """build_up made a new ODE right-hand side (a closure) on every call, a new static of
    odesolve's jit: each call compiled again. Now new Python-float model fields, ``b_ext``
    and new ``ts`` of the same shape (and a field replaced by a plain float) reuse it."""
    model = _double_dot(5.0, nuclear_relaxation=1e-3)
    compiles(lambda: danon11.build_up(model, 10.0, np.linspace(0.0, 10.0, 5)).ys)
    other, ts = jax.block_until_ready(
        (_double_dot(6.0, nuclear_relaxation=1e-3), np.linspace(0.0, 11.0, 5))
    )
    assert compiles(lambda: danon11.build_up(other, 11.0, ts).ys) == 0
    replaced = eqx.tree_at(lambda m: m.detuning, model, 7.0)
    assert isinstance(replaced.detuning, float)
    assert compiles(lambda: danon11.build_up(replaced, jnp.asarray(12.0), ts).ys) == 0


def test_danon11_fixed_points_and_hysteresis_float_field_compile_nothing():
    model = _double_dot(5.0, nuclear_relaxation=1e-3)
    fp = lambda m, b: (lambda r: (r.k_z, r.stable))(danon11.fixed_points(m, b, grid_size=33))
    hy = lambda m, bs: (lambda h: (h.up, h.down))(danon11.hysteresis(m, bs, grid_size=33))
    compiles(lambda: fp(model, 10.0))
    compiles(lambda: hy(model, np.linspace(0.0, 20.0, 3)))
    other = jax.block_until_ready(_double_dot(6.0, nuclear_relaxation=1e-3))
    assert compiles(lambda: fp(other, 11.0)) == 0
    assert compiles(lambda: hy(other, np.linspace(0.0, 21.0, 3))) == 0
    replaced = eqx.tree_at(lambda m: m.coupling, model, 9.0)
    assert compiles(lambda: fp(replaced, 12.0)) == 0
    assert compiles(lambda: hy(replaced, [1.0, 2.0, 3.0])) == 0
