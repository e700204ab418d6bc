"""Deferred value checks (jaxspin/_checks.py, issue 15): a call from Python compiles a
program without host callbacks (so the persistent cache can keep it) and still refuses
bad values with the same exception and message; inside a user's trace the callback
checks stay."""

import os
import subprocess
import sys
import textwrap

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify

import jaxspin
from jaxspin import _checks


SX, SY, SZ, SP, SM = jaxspin.spin_operators(0.5)
NOT_UNIQUE = "steady state is not unique"
# a callback check under jax.jit: JaxRuntimeError, or a plain ValueError on jax 0.9.2
TRACED = (eqx.EquinoxRuntimeError, jax.errors.JaxRuntimeError, ValueError)


@_checks.filter_jit
def _positive_sqrt(x):
    x = _checks.error_if(x, x < 0, "x must be >= 0 {not a format field}")
    return jnp.sqrt(x)


def test_top_level_call_raises_the_deferred_check_with_its_exact_message():
    assert float(_positive_sqrt(jnp.asarray(4.0))) == 2.0
    with pytest.raises(eqx.EquinoxRuntimeError) as err:
        _positive_sqrt(jnp.asarray(-1.0))
    assert str(err.value) == "x must be >= 0 {not a format field}"


def test_inside_a_user_jit_the_check_is_a_callback_and_still_raises():
    f = jax.jit(lambda x: _positive_sqrt(x) + 1.0)
    assert float(f(jnp.asarray(4.0))) == 3.0
    with pytest.raises(TRACED, match="x must be"):
        jax.block_until_ready(f(jnp.asarray(-1.0)))


def test_both_modes_of_one_function_coexist_in_the_caches():
    """Traced deferred first, then under jit, vmap and grad, then deferred again: a cached
    trace of one mode reused in the other would fail ("not functionalized")."""
    x = jnp.asarray([1.0, 9.0])
    np.testing.assert_allclose(_positive_sqrt(x), [1.0, 3.0])
    np.testing.assert_allclose(jax.jit(_positive_sqrt)(x), [1.0, 3.0])
    np.testing.assert_allclose(jax.vmap(_positive_sqrt)(x), [1.0, 3.0])
    np.testing.assert_allclose(jax.grad(lambda y: _positive_sqrt(y))(4.0), 0.25)
    np.testing.assert_allclose(_positive_sqrt(x), [1.0, 3.0])


def test_the_mode_is_part_of_the_jit_cache_key():
    """The private JAX config state behind the mode must key jit caches (else the test
    above could pass by luck of tracing order)."""
    f = jax.jit(lambda x: x + (1.0 if _checks.deferred() else 0.0))
    assert float(f(1.0)) == 1.0
    with _checks.deferred_checks():
        assert float(f(1.0)) == 2.0
    assert float(f(1.0)) == 1.0


@_checks.filter_jit
def _countdown(x):
    """A check inside a while loop under vmap: checkify refuses that program, so the
    function falls back to callback checks (the loop's predicate is batched)."""

    def one(x0):
        def body(carry):
            i, y = carry
            y = _checks.error_if(y, y > 100.0, "y above 100")
            return i + 1, y - 1.0

        return jax.lax.while_loop(lambda c: c[1] > 0.5, body, (0, x0))[0]

    return jax.vmap(one)(x)


def test_a_program_checkify_refuses_falls_back_to_callback_checks():
    np.testing.assert_array_equal(_countdown(jnp.asarray([3.0, 5.0])), [3, 5])
    with pytest.raises(TRACED, match="y above 100"):
        jax.block_until_ready(_countdown(jnp.asarray([3.0, 200.0])))


def test_a_batched_loop_without_checks_stays_deferred():
    """Loops with no check inside pass through checkify (jaxspin's while rule), so a
    vmapped loop does not cost a kernel its deferred checks."""

    @_checks.filter_jit
    def f(x):
        x = _checks.error_if(x, x < 0, "x must be >= 0")
        steps = jax.vmap(lambda x0: jax.lax.while_loop(lambda y: y > 1.0, lambda y: y / 2, x0))
        return steps(x)

    np.testing.assert_allclose(f(jnp.asarray([4.0, 3.0])), [1.0, 0.75])
    with pytest.raises(eqx.EquinoxRuntimeError, match="x must be >= 0"):
        f(jnp.asarray([4.0, -3.0]))
    # the rule itself: JAX's stock rule refuses this program ("checkify-of-vmap-of-while")
    halve = jax.vmap(lambda x0: jax.lax.while_loop(lambda y: y > 1.0, lambda y: y / 2, x0))
    err, out = jax.jit(checkify.checkify(halve))(jnp.asarray([4.0, 3.0]))
    assert err.get() is None
    np.testing.assert_allclose(out, [1.0, 0.75])


def test_engine_failures_keep_their_exception_and_message():
    with pytest.raises(eqx.EquinoxRuntimeError, match=NOT_UNIQUE):
        jaxspin.steadystate(SZ)
    ss = jaxspin.steadystate(SZ, throw=False)
    assert ss.result == jaxspin.RESULTS.singular
    # one bad point of a batch (traced inside the kernel) still refuses the batch
    H = jnp.stack([SX, SZ])
    jumps = jnp.stack([jnp.stack([SM]), jnp.stack([0.0 * SM])])
    with pytest.raises(eqx.EquinoxRuntimeError, match=NOT_UNIQUE):
        jaxspin.steadystate(H, jumps)
    with pytest.raises(eqx.EquinoxRuntimeError, match="reducible"):
        W = jnp.asarray([[0.0, 0.0], [0.0, 0.0]])
        jaxspin.stationary_distribution(W)


def test_a_traced_call_still_gets_callback_checks():
    f = jax.jit(lambda h: jaxspin.steadystate(h).rho)
    with pytest.raises(TRACED, match=NOT_UNIQUE):
        jax.block_until_ready(f(SZ))


_PROBE = textwrap.dedent(
    """
    import logging, sys
    import jax, jax.numpy as jnp
    import jaxspin
    from jaxspin import smirnov24
    jaxspin.enable_compilation_cache(sys.argv[1])
    seen = []
    class H(logging.Handler):
        def emit(self, r):
            if "host callbacks" in r.getMessage():
                seen.append(r.getMessage())
    log = logging.getLogger("jax._src.compiler")
    log.setLevel(logging.DEBUG); log.addHandler(H()); log.propagate = False
    sx, sy, sz, sp, sm = jaxspin.spin_operators(0.5)
    if sys.argv[2] == "python":
        jaxspin.steadystate(0.3 * sz + sx, [sm])
        jaxspin.steadystate(sz, throw=False)
        smirnov24.inverse_spin_temperature(smirnov24.Parameters.paper(1.0), 1.0)
        jaxspin.stationary_distribution(jnp.asarray([[0.0, 1.0], [2.0, 0.0]]))
    else:
        jax.jit(lambda h: jaxspin.steadystate(h, [sm]).rho)(0.3 * sz + sx)
    print("CALLBACK_PROGRAMS", len(seen))
    """
)


def _callback_programs(tmp_path, how: str) -> int:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("JAXSPIN_COMPILATION_CACHE", None)
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, str(tmp_path / f"cache-{how}"), how],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("CALLBACK_PROGRAMS")][-1]
    return int(line.split()[1])


def test_python_calls_compile_no_callback_programs_and_jit_calls_do(tmp_path):
    """What makes the persistent cache useful: no program compiled for a call from
    Python carries a host callback. The counter-check (the same solve under a user's
    jit keeps its callback checks) shows the probe can see one."""
    assert _callback_programs(tmp_path, "python") == 0
    assert _callback_programs(tmp_path, "jit") >= 1
