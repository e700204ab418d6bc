"""Compile time of every public entry point, one table (issue 15, item 2).

Each entry runs in its own fresh Python process (one after another, never in parallel), so
nothing is shared through JAX's in-memory caches; the persistent compilation cache is off
(``JAXSPIN_COMPILATION_CACHE=0``). In that process the inputs of two calls (same shapes,
different values) are built and blocked on first, then the entry point is called as a
user calls it (no extra ``jax.jit`` around it), its result blocked on
(``jax.block_until_ready``):

- ``first [s]``: wall time of the first call;
- ``compile [s]``: the summed XLA backend-compile durations during the first call, from a
  ``jax.monitoring`` listener on ``/jax/core/compile/backend_compile_duration`` (the event
  of every backend compile, eager one-op kernels included); ``compiles`` is their number;
- ``again [s]``: wall time of a second call with new values of the same shapes;
- ``compiles again``: backend compilations during that second call (should be 0);
- ``trace+lower [s]``: ``first - again - compile``, an *estimate* of the Python-side cost
  of the first call (tracing, lowering, dispatch caches) that assumes the second call's run
  time equals the first's; it can come out slightly negative when the run time is noise.

Inputs are small on purpose: the point is compile time, not run time. Entries, in order:
the engine, then each paper package (its functions a user calls to get a result).

Left out, with the reason:

- ``jaxspin.gong11`` fits (``fit_dot``, ``fit_effective_diffusion``): not exported (they
  live in ``jaxspin.gong11._fit``); ``jaxspin.fit`` itself is in the engine rows;
- ``jaxspin.latta09.fit_common_saturation`` / ``fit_critical_step``: fits of the
  figure's dragging widths (small SciPy-free ``jaxspin.fit`` problems on derived data);
  ``jaxspin.fit`` is in the engine rows and ``latta09.drag`` supplies their data;
- ``jaxspin.deluca16.random_model(s)``, ``diagonalize``: input builders / a step inside
  ``steady_state`` (timed through it);
- model constructors and closed-form helpers (``Parameters``, ``DickeSpace``,
  ``QuantumDot``, ``beta0``, unit conversions): no computation worth a row.

Run: ``python benchmarks/bench_compile.py [--only NAME ...] [--quick]`` (``--quick``: one
entry per group, the first of the engine and of each paper).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable


try:  # the benchmarks run both as `python benchmarks/x.py` and as jaxspin.benchmarks.x
    from ._common import machine, print_table
except ImportError:  # pragma: no cover
    from _common import machine, print_table


_EVENT = "/jax/core/compile/backend_compile_duration"
_TIMEOUT_S = 900  # per entry (one fresh process)

# name -> builder; a builder returns (label, fn, args_of_the_first_call, args_of_the_second)
CASES: dict[str, Callable[[], tuple]] = {}
GROUPS = ("engine", "danon11", "smirnov24", "latta09", "deluca16", "gong11")


def case(name: str):
    def register(builder):
        CASES[name] = builder
        return builder

    return register


# ------------------------------------------------------------------------------- engine
def _qubit(s):
    """A driven, decaying spin 1/2: (H, [c]) with values that depend on ``s``."""
    import jaxspin

    sx, _, sz, _, sm = jaxspin.spin_operators(0.5)
    return (0.3 + 0.2 * s) * sz + (1.0 + 0.1 * s) * sx, (0.5 + 0.1 * s) * sm[None]


def _three_level(s):
    """A 3-level Λ system (n = 3): H and two jump operators."""
    import jax.numpy as jnp

    H = jnp.array([[0, 0, 0.5], [0, 1.0 + s, 0.3], [0.5, 0.3, -0.4 + s]], dtype=complex)
    c = jnp.zeros((2, 3, 3), dtype=complex).at[0, 0, 2].set(1.0).at[1, 1, 2].set(0.4 + 0.1 * s)
    return H, c


def _rates(n, s):
    import numpy as np

    rng = np.random.default_rng(s)
    W = rng.uniform(0.1, 1.0, (n, n))
    np.fill_diagonal(W, 0.0)
    return W


@case("steadystate")
def _c_steadystate():
    import jaxspin

    return (
        "jaxspin.steadystate (n=3)",
        lambda H, c: jaxspin.steadystate(H, c).rho,
        _three_level(0),
        _three_level(1),
    )


@case("linear_response")
def _c_linear_response():
    import jax.numpy as jnp

    import jaxspin

    def args(s):
        H, c = _three_level(s)
        return H, c, jnp.stack([c[0], (1.0 + s) * c[1]])  # traceless sources

    def fn(H, c, src):
        ss, xs = jaxspin.linear_response(H, c, src)
        return ss.rho, xs

    return "jaxspin.linear_response (n=3, 2 sources)", fn, args(0), args(1)


@case("factorize")
def _c_factorize():
    import jaxspin

    def args(s):
        return (jaxspin.Lindbladian(*_three_level(s)),)

    return (
        "jaxspin.factorize(...).steadystate() (n=3)",
        lambda lind: jaxspin.factorize(lind).steadystate().rho,
        args(0),
        args(1),
    )


@case("mesolve")
def _c_mesolve():
    import jax.numpy as jnp

    import jaxspin

    def args(s):
        H, c = _qubit(s)
        return H, c, jnp.eye(2, dtype=complex) / 2, jnp.linspace(0.0, 1.0 + s, 5)

    return (
        "jaxspin.mesolve (n=2, 5 times)",
        lambda H, c, rho0, ts: jaxspin.mesolve(H, c, rho0, ts).ys,
        args(0),
        args(1),
    )


@case("propagate")
def _c_propagate():
    import jax.numpy as jnp

    import jaxspin

    def args(s):
        return jaxspin.generator(_rates(4, s)), jnp.ones(4) / 4, jnp.linspace(0.0, 1.0 + s, 5)

    return "jaxspin.propagate (4 x 4, 5 times)", jaxspin.propagate, args(0), args(1)


def _decay(t, y, k):  # module level: the same function object in both calls
    return -k * y


@case("odesolve")
def _c_odesolve():
    import jax.numpy as jnp

    import jaxspin

    def args(s):
        return jnp.array([1.0, 2.0, 3.0 + s]), jnp.linspace(0.0, 1.0, 5), jnp.asarray(0.5 + s)

    return (
        "jaxspin.odesolve (3 states, 5 times)",
        lambda y0, ts, k: jaxspin.odesolve(_decay, y0, ts, k).ys,
        args(0),
        args(1),
    )


@case("ratesolve")
def _c_ratesolve():
    import jax.numpy as jnp

    import jaxspin

    def args(s):
        return _rates(4, s), jnp.array([1.0, 0, 0, 0]), jnp.linspace(0.0, 1.0 + s, 5)

    return (
        "jaxspin.ratesolve (4 states, 5 times)",
        lambda W, p0, ts: jaxspin.ratesolve(W, p0, ts).ys,
        args(0),
        args(1),
    )


def _spectral(s, start=-3.0):
    """(H, c, A, B, grid): frequencies from ``start`` (delays: ``start=0``)."""
    import jax.numpy as jnp

    H, c = _three_level(s)
    A = c[0]
    return H, c, A, A.conj().T, jnp.linspace(start, 3.0 + s, 20)


@case("spectrum")
def _c_spectrum():
    import jaxspin

    return "jaxspin.spectrum (n=3, 20 freqs)", jaxspin.spectrum, _spectral(0), _spectral(1)


@case("correlation_2op_1t")
def _c_correlation():
    import jaxspin

    return (
        "jaxspin.correlation_2op_1t (n=3, 20 taus)",
        jaxspin.correlation_2op_1t,
        _spectral(0, start=0.0),
        _spectral(1, start=0.0),
    )


@case("susceptibility")
def _c_susceptibility():
    import jaxspin

    return (
        "jaxspin.susceptibility (n=3, 20 freqs)",
        jaxspin.susceptibility,
        _spectral(0),
        _spectral(1),
    )


@case("stationary_distribution")
def _c_stationary():
    import jaxspin

    return (
        "jaxspin.stationary_distribution (6 states)",
        lambda W: jaxspin.stationary_distribution(W).p,
        (_rates(6, 0),),
        (_rates(6, 1),),
    )


@case("stationary_block_tridiagonal")
def _c_block():
    import numpy as np

    import jaxspin

    sizes = (2, 3, 2)

    def args(s):
        rng = np.random.default_rng(s)
        u = lambda *shape: rng.uniform(0.1, 1.0, shape)
        diag = [u(d, d) for d in sizes]
        lower = [u(b, a) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
        upper = [u(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
        return (jaxspin.BlockTridiagonalRates(diag, lower, upper),)

    return (
        "jaxspin.stationary_block_tridiagonal (blocks 2,3,2)",
        lambda r: jaxspin.stationary_block_tridiagonal(r).p,
        args(0),
        args(1),
    )


@case("birth_death_stationary")
def _c_birth_death():
    import numpy as np

    import jaxspin

    def args(s):
        rng = np.random.default_rng(s)
        return rng.uniform(0.1, 1.0, 9), rng.uniform(0.1, 1.0, 9)

    return (
        "jaxspin.birth_death_stationary (10 states)",
        jaxspin.birth_death_stationary,
        args(0),
        args(1),
    )


def _norm2(w):
    return w @ w


@case("overhauser_mc")
def _c_overhauser_mc():
    import jax

    import jaxspin

    def args(s):
        return jaxspin.OverhauserField(1.0 + s, 0.0, 0.5), jax.random.key(s)

    return (
        "jaxspin.overhauser_mc (4096 samples)",
        lambda f, k: jaxspin.overhauser_mc(_norm2, f, k, 4096, chunk_size=1024).value,
        args(0),
        args(1),
    )


def _quad_integrand(z, p):
    return z**2 + p


@case("overhauser_quad")
def _c_overhauser_quad():
    import jaxspin

    def args(s):
        return (jaxspin.OverhauserField(1.0 + s, 0.0, 0.5),)

    return (
        "jaxspin.overhauser_quad (TanhSinh)",
        lambda f: jaxspin.overhauser_quad(_quad_integrand, f).value,
        args(0),
        args(1),
    )


def _exp_model(p, t):
    import jax.numpy as jnp

    return p["a"] * jnp.exp(-p["k"] * t)


@case("fit")
def _c_fit():
    import jax.numpy as jnp
    import numpy as np

    import jaxspin

    t = np.linspace(0.0, 3.0, 20)

    def args(s):
        y = (2.0 + s) * np.exp(-(1.0 + 0.5 * s) * t)
        return {"a": jnp.asarray(1.0), "k": jnp.asarray(0.7 + 0.1 * s)}, t, y

    def fn(p0, t, y):
        res = jaxspin.fit(_exp_model, p0, t, y)
        return res.params, res.covariance

    return "jaxspin.fit (2 params, 20 points)", fn, args(0), args(1)


def _trion_point(delta, omega):
    """One point of bench_engine.py's 3-level trion model: ρ_tt."""
    import jax.numpy as jnp

    import jaxspin

    H = jnp.zeros((3, 3)).at[2, 2].set(delta).at[1, 1].set(30.0)
    H = H.at[2, 0].set(omega / 2).at[0, 2].set(omega / 2).astype(complex)
    W = jnp.zeros((3, 3)).at[0, 2].set(1.0).at[1, 2].set(0.05).at[0, 1].set(0.01)
    W = W.at[1, 0].set(0.01)
    return jaxspin.steadystate(H, rates=W).rho[2, 2].real


@case("sweep")
def _c_sweep():
    import numpy as np

    import jaxspin

    def args(s):
        return ({"delta": np.linspace(-5.0, 5.0 + s, 16), "omega": np.linspace(0.1, 3.0 + s, 16)},)

    return (
        "jaxspin.sweep (trion steady state, 16 x 16)",
        lambda grid: jaxspin.sweep(_trion_point, grid, progress=False).values,
        args(0),
        args(1),
    )


# ------------------------------------------------------------------------------ danon11
def _double_dot(s, **kw):
    from jaxspin import danon11

    return danon11.DoubleDot(5.0 + s, 0.5, 1.0, coupling=10.0, num_nuclei=10.0, **kw)


@case("danon11.spin_response")
def _c_d11_response():
    import numpy as np

    from jaxspin import danon11

    def args(s):
        dd = _double_dot(s)
        lind = dd.lindbladian(np.float64(0.3 + s))
        return lind.H, lind.rates, dd.spin_ops

    def fn(H, rates, ops):
        r = danon11.spin_response(H, None, ops, rates=rates)
        return r.S, r.chi, r.R

    return "jaxspin.danon11.spin_response (double dot)", fn, args(0), args(1)


@case("danon11.fixed_points")
def _c_d11_fixed_points():
    from jaxspin import danon11

    def args(s):
        return _double_dot(s, nuclear_relaxation=1e-3), 10.0 + s

    def fn(model, b):
        fp = danon11.fixed_points(model, b, grid_size=65)
        return fp.k_z, fp.stable

    return "jaxspin.danon11.fixed_points (grid 65)", fn, args(0), args(1)


@case("danon11.build_up")
def _c_d11_build_up():
    import numpy as np

    from jaxspin import danon11

    def args(s):
        return _double_dot(s, nuclear_relaxation=1e-3), 10.0 + s, np.linspace(0.0, 10.0 + s, 5)

    return (
        "jaxspin.danon11.build_up (5 times)",
        lambda m, b, ts: danon11.build_up(m, b, ts).ys,
        args(0),
        args(1),
    )


@case("danon11.hysteresis")
def _c_d11_hysteresis():
    import numpy as np

    from jaxspin import danon11

    def args(s):
        return _double_dot(s, nuclear_relaxation=1e-3), np.linspace(0.0, 20.0 + s, 5)

    def fn(m, bs):
        h = danon11.hysteresis(m, bs, grid_size=65)
        return h.up, h.down

    return "jaxspin.danon11.hysteresis (5 fields, grid 65)", fn, args(0), args(1)


@case("danon11.fit_build_up")
def _c_d11_fit():
    import numpy as np

    from jaxspin import danon11

    ts = np.linspace(0.0, 10.0, 8)

    def guess(s):
        return danon11.DoubleDot(
            5.0 + s, 0.5, 1.3, coupling=8.0, num_nuclei=10.0, nuclear_relaxation=1e-3
        )

    def data(s):
        truth = _double_dot(s, nuclear_relaxation=1e-3)
        return guess(s), ts, np.asarray(danon11.build_up_curve(truth, ts, 10.0))

    def fn(m0, ts, k):
        res = danon11.fit_build_up(m0, ts, k, b_ext=10.0, max_steps=20, throw=False)
        return res.params.coupling, res.params.gamma

    return "jaxspin.danon11.fit_build_up (8 points, 20 steps)", fn, data(0), data(1)


# ---------------------------------------------------------------------------- smirnov24
def _s24_args(s):
    import jax.numpy as jnp

    from jaxspin import smirnov24

    return smirnov24.Parameters.paper(jnp.array([1.0, 10.0]) + s), jnp.linspace(0.1, 3.0 + s, 8)


@case("smirnov24.inverse_spin_temperature")
def _c_s24_beta():
    from jaxspin import smirnov24

    return (
        "jaxspin.smirnov24.inverse_spin_temperature (2 x 8)",
        lambda p, b: smirnov24.inverse_spin_temperature(p, b[:, None]),
        _s24_args(0),
        _s24_args(1),
    )


@case("smirnov24.nuclear_polarization")
def _c_s24_pol():
    from jaxspin import smirnov24

    return (
        "jaxspin.smirnov24.nuclear_polarization (2 x 8)",
        lambda p, b: smirnov24.nuclear_polarization(p, b[:, None]),
        _s24_args(0),
        _s24_args(1),
    )


@case("smirnov24.heating_rate")
def _c_s24_heating():
    from jaxspin import smirnov24

    return (
        "jaxspin.smirnov24.heating_rate (2 x 8)",
        lambda p, b: smirnov24.heating_rate(p, b[:, None]),
        _s24_args(0),
        _s24_args(1),
    )


@case("smirnov24.nuclear_relaxation_time")
def _c_s24_t1():
    from jaxspin import smirnov24

    return (
        "jaxspin.smirnov24.nuclear_relaxation_time (2 x 8)",
        lambda p, b: smirnov24.nuclear_relaxation_time(p, b[:, None]),
        _s24_args(0),
        _s24_args(1),
    )


@case("smirnov24.optimal_field")
def _c_s24_optimal():
    import jax.numpy as jnp

    from jaxspin import smirnov24

    def args(s):
        return (smirnov24.Parameters.paper(jnp.geomspace(1e-2, 1e2, 4) * (1 + s)),)

    def fn(p):
        res = smirnov24.optimal_field(p, num_grid=16)
        return res.field, res.beta_max

    return "jaxspin.smirnov24.optimal_field (4 taus, grid 16)", fn, args(0), args(1)


@case("smirnov24.fit_polarization")
def _c_s24_fit():
    import numpy as np

    from jaxspin import smirnov24

    b = np.linspace(-20.0, 20.0, 16)

    def args(s):
        truth = smirnov24.Parameters(3.0 + s, b_local=1.0, delta_b=8.0, n_i=1e5, s_z=0.25)
        y = np.asarray(smirnov24.polarization_model(truth, b))
        start = smirnov24.Parameters(1.0 + s, b_local=0.5, delta_b=8.0, n_i=1e5, s_z=0.2)
        return b, y, start

    def fn(b, y, start):
        res = smirnov24.fit_polarization(b, y, start, sigma=1e-3, max_steps=50, throw=False)
        return res.params.tau_c, res.params.s_z

    return "jaxspin.smirnov24.fit_polarization (16 points, 50 steps)", fn, args(0), args(1)


# ------------------------------------------------------------------------------ latta09
def _l09(s, n=20):
    import numpy as np

    from jaxspin import latta09

    params, space = latta09.Latta09Params(rabi=1.0 + 0.2 * s), latta09.DickeSpace(n)
    dets = (np.arange(-4, 5) + 0.3 * s) * float(params.hyperfine) / space.n_nuclei
    return params, space, dets


@case("latta09.detuning_scan")
def _c_l09_scan():
    from jaxspin import latta09

    def args(s):
        p, space, dets = _l09(s)
        return p, dets

    space = latta09.DickeSpace(20)

    def fn(p, dets):
        ss = latta09.detuning_scan(p, space, dets)
        return {k: getattr(ss, k) for k in latta09.MAP_OUTPUTS}

    return "jaxspin.latta09.detuning_scan (N=20, 9 detunings)", fn, args(0), args(1)


@case("latta09.polarization_map")
def _c_l09_map():
    import numpy as np

    from jaxspin import latta09

    space = latta09.DickeSpace(20)

    def args(s):
        p, _, dets = _l09(s)
        return p, dets, np.linspace(0.2, 3.0 + s, 4)

    def fn(p, dets, rabis):
        return latta09.polarization_map(p, space, dets, rabis, progress=False)["polarization"]

    return "jaxspin.latta09.polarization_map (N=20, 9 x 4)", fn, args(0), args(1)


@case("latta09.nuclear_steady_state")
def _c_l09_nss():
    from jaxspin import latta09

    space = latta09.DickeSpace(20)

    def args(s):
        return (_l09(s)[0],)

    return (
        "jaxspin.latta09.nuclear_steady_state (N=20)",
        lambda p: latta09.nuclear_steady_state(p, space).polarization,
        args(0),
        args(1),
    )


@case("latta09.drag")
def _c_l09_drag():
    import numpy as np

    from jaxspin import latta09

    space = latta09.DickeSpace(20)

    def args(s):
        return (
            latta09.Latta09Params(kappa=0.002 + 0.001 * s),
            np.linspace(-1.0, 2.0 + s, 6),
            np.array([1e-4, 1e-2 + s]),
        )

    def fn(p, d, dw):
        scan = latta09.drag(p, space, d, dw)
        return scan.absorption, scan.polarization

    return "jaxspin.latta09.drag (N=20, 6 steps x 2 dwells)", fn, args(0), args(1)


@case("latta09.locking_points")
def _c_l09_locking():
    from jaxspin import latta09

    space = latta09.DickeSpace(20)

    def args(s):
        return (_l09(s)[0],)

    def fn(p):
        return [(pt.x, pt.stable) for pt in latta09.locking_points(p, space)]

    return "jaxspin.latta09.locking_points (N=20)", fn, args(0), args(1)


# ----------------------------------------------------------------------------- deluca16
def _dl_models(s, n=4, realizations=3):
    import jax

    from jaxspin import deluca16

    par = deluca16.table1(U_mhz=15.0)
    return deluca16.random_models(jax.random.PRNGKey(s), n, realizations, par), par


@case("deluca16.steady_state")
def _c_dl_steady():
    from jaxspin import deluca16

    def fn(models):
        st = deluca16.steady_state(models)
        return st.p, st.nuclear_polarization

    return (
        "jaxspin.deluca16.steady_state (N=4, 3 realizations)",
        fn,
        (_dl_models(0)[0],),
        (_dl_models(1)[0],),
    )


@case("deluca16.dnp_profile")
def _c_dl_profile():
    import jax.numpy as jnp

    from jaxspin import deluca16

    def args(s):
        models, par = _dl_models(s)
        return models, par.omega_e + deluca16.mhz(jnp.linspace(-100.0, 100.0 + s, 5))

    def fn(models, omegas):
        prof = deluca16.dnp_profile(models, omegas)
        return prof.nuclear_polarization

    return "jaxspin.deluca16.dnp_profile (N=4, 3 realizations, 5 freqs)", fn, args(0), args(1)


@case("deluca16.fit_spin_temperature")
def _c_dl_fit():
    from jaxspin import deluca16

    def args(s):
        models, par = _dl_models(s)
        return jax_block(deluca16.steady_state(models)), par.omega_e

    def fn(st, omega_e):
        fm = deluca16.fit_spin_temperature(st, omega_e, throw=False)
        return fm.beta_s, fm.h

    return "jaxspin.deluca16.fit_spin_temperature (N=4, 3 realizations)", fn, args(0), args(1)


@case("deluca16.relaxation_rates")
def _c_dl_rates():
    from jaxspin import deluca16

    return (
        "jaxspin.deluca16.relaxation_rates (N=4, 3 realizations, k=2)",
        lambda m: deluca16.relaxation_rates(m, 2),
        (_dl_models(0)[0],),
        (_dl_models(1)[0],),
    )


@case("deluca16.eigenstate_polarizations")
def _c_dl_eig():
    from jaxspin import deluca16

    return (
        "jaxspin.deluca16.eigenstate_polarizations (N=4, 3 realizations)",
        lambda m: deluca16.eigenstate_polarizations(m, site=0),
        (_dl_models(0)[0],),
        (_dl_models(1)[0],),
    )


# ------------------------------------------------------------------------------- gong11
@case("gong11.diffusion_map")
def _c_g11_map():
    import numpy as np

    from jaxspin import gong11

    nb = gong11.default_neighbourhood()

    def args(s):
        pts = np.random.default_rng(s).uniform(-20.0, 20.0, (64, 2))
        return gong11.QuantumDot(B0_T=0.2 + s), pts

    return (
        "jaxspin.gong11.diffusion_map (64 points)",
        lambda dot, pts: gong11.diffusion_map(dot, nb, pts),
        args(0),
        args(1),
    )


@case("gong11.diffusion_coefficient")
def _c_g11_coef():
    import numpy as np

    from jaxspin import gong11

    nb = gong11.default_neighbourhood()

    def args(s):
        return gong11.QuantumDot(B0_T=0.2 + s), np.array([3.0 + s, 1.0])

    return (
        "jaxspin.gong11.diffusion_coefficient (1 point)",
        lambda dot, xy: gong11.diffusion_coefficient(dot, nb, xy),
        args(0),
        args(1),
    )


@case("gong11.overhauser_decay")
def _c_g11_decay():
    import numpy as np

    from jaxspin import gong11

    grid = gong11.DiskGrid(radius_nm=30.0, spacing_nm=3.0)
    solver = gong11.Krylov(num_steps=32)

    def args(s):
        return gong11.QuantumDot(B0_T=2.0 + s), np.linspace(0.0, 1e3 + s, 6)

    return (
        "jaxspin.gong11.overhauser_decay (disk r=30 nm, Krylov 32)",
        lambda dot, ts: gong11.overhauser_decay(dot, ts, grid=grid, solver=solver),
        args(0),
        args(1),
    )


@case("gong11.lattice_decay")
def _c_g11_lattice():
    import numpy as np

    from jaxspin import gong11

    solver = gong11.Krylov(num_steps=16)

    def args(s):
        return gong11.QuantumDot(B0_T=2.0 + s), np.linspace(0.0, 1e3 + s, 6)

    return (
        "jaxspin.gong11.lattice_decay (r=6 nm, Krylov 16)",
        lambda dot, ts: gong11.lattice_decay(dot, ts, radius_nm=6.0, solver=solver),
        args(0),
        args(1),
    )


# ------------------------------------------------------------------------------- driver
def jax_block(x):
    import jax

    return jax.block_until_ready(x)


def _measure(name: str) -> dict:
    """Run one entry in this (fresh) process; the row as a dict."""
    import jax

    durations: list[float] = []

    def listener(event, duration, **kwargs):
        if event == _EVENT:
            durations.append(duration)

    jax.monitoring.register_event_duration_secs_listener(listener)
    label, fn, first_args, again_args = CASES[name]()
    first_args, again_args = jax.block_until_ready((first_args, again_args))

    n0 = len(durations)
    t0 = time.perf_counter()
    jax.block_until_ready(fn(*first_args))
    first = time.perf_counter() - t0
    compile_s, n_first = sum(durations[n0:]), len(durations) - n0

    n1 = len(durations)
    t0 = time.perf_counter()
    jax.block_until_ready(fn(*again_args))
    again = time.perf_counter() - t0
    return {
        "entry": label,
        "first [s]": first,
        "compile [s]": compile_s,
        "trace+lower [s]": first - again - compile_s,
        "again [s]": again,
        "compiles": n_first,
        "compiles again": len(durations) - n1,
    }


def _group(name: str) -> str:
    return name.split(".")[0] if "." in name else "engine"


def _select(only, quick: bool) -> list[str]:
    names = list(CASES) if not only else [n for n in CASES if n in only or _group(n) in only]
    if quick:  # one entry per group
        seen, keep = set(), []
        for n in names:
            if _group(n) not in seen:
                seen.add(_group(n))
                keep.append(n)
        names = keep
    return names


def run(quick: bool = False, only=None) -> list[dict]:
    env = {**os.environ, "JAXSPIN_COMPILATION_CACHE": "0", "TF_CPP_MIN_LOG_LEVEL": "3"}
    rows = []
    for name in _select(only, quick):
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--child", name],
                env=env,
                capture_output=True,
                text=True,
                timeout=_TIMEOUT_S,
            )
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
            if proc.returncode != 0 or not lines:
                lines = proc.stderr.strip().splitlines() or ["?"]
                tail = next((ln for ln in reversed(lines) if "Error" in ln), lines[-1])[:120]
                raise RuntimeError(f"exit {proc.returncode}: {tail}")
            row = json.loads(lines[-1])
        except (RuntimeError, subprocess.TimeoutExpired) as err:
            row = {"entry": name, "first [s]": f"error: {err}"}
        row["process [s]"] = time.perf_counter() - t0
        rows.append(row)
        print_table([row])
        sys.stdout.flush()
    cols = list(next((r for r in rows if "compiles again" in r), rows[0] if rows else {}))
    rows = [{c: r.get(c, "") for c in cols} for r in rows]
    print(f"machine: {machine()}")
    print_table(rows, "compile time per public entry point (each in a fresh process)")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help=f"entries or groups ({', '.join(GROUPS)}); entries: {', '.join(CASES)}",
    )
    parser.add_argument("--quick", action="store_true", help="one entry per group")
    parser.add_argument("--child", metavar="NAME", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_measure(args.child)))
    else:
        bad = set(args.only or ()) - set(CASES) - set(GROUPS)
        if bad:
            parser.error(f"unknown entries {sorted(bad)}")
        run(quick=args.quick, only=args.only)
