"""Every public kernel lowers for an NVIDIA GPU, without a GPU.

``jax.export.export(jax.jit(f), platforms=("cuda",))`` lowers a function for a platform
this machine does not have. The custom calls in the resulting StableHLO are the library
routines the GPU would run; the test fails on any that is not device-native:

- host callbacks (``pure_callback``, ``io_callback``, ``jax.debug.print``: on a GPU the
  targets ``xla_ffi_python_gpu_callback`` / ``xla_python_gpu_callback``; on this CPU-only
  machine they cannot even be lowered for CUDA, which fails the test the same way);
- CPU-only or hybrid targets: ``lapack_*`` and ``cuhybrid_*`` (e.g. ``jnp.linalg.eig``
  lowers to ``cuhybrid_eig_real``: LAPACK on the host, a device-host round trip per call).

``eqx.error_if`` (the ``throw=True`` checks and the per-point input checks under ``jit``)
is a ``pure_callback`` in a ``lax.cond`` branch that runs only when a check fails, not host
work per point. The module lowers every kernel in equinox's ``on_error="nan"`` mode
(``EQX_ON_ERROR=nan``; the fixture sets it and clears JAX's trace caches around the
module) so that those checks become selects and any callback left is a real one.

Each parameter lowers the kernel behind one public entry point as a GPU user runs it;
where the entry point does eager host work (validation, grid set-up, a host loop over
steps), the kernel it calls per point is lowered instead and the id says which.

The custom-call targets of every kernel (jax 0.9.2) are tabulated in tests/README.md,
section "GPU lowering"; run with ``-s`` to print them.
"""

import functools
import re
from collections.abc import Callable
from typing import Any

import equinox as eqx
import equinox._errors
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import export

import jaxspin
import jaxspin._sweep as _sweep
from jaxspin import danon11, deluca16, gong11, latta09, smirnov24


_CUSTOM_CALL = re.compile(r'stablehlo\.custom_call @([\w.$-]+)|call_target_name = "([^"]+)"')
_UNGUARANTEED = re.compile(r"custom_call @([\w.$-]+)")


def custom_call_targets(mlir_text: str) -> set[str]:
    """The custom-call targets named in a StableHLO module."""
    return {a or b for a, b in _CUSTOM_CALL.findall(mlir_text)}


def forbidden(target: str) -> bool:
    """Host callbacks and CPU-only or hybrid (host round-trip) library calls."""
    return "callback" in target or target.startswith(("lapack_", "cuhybrid_", "hiphybrid_"))


def host_callbacks(fn: Callable, args) -> list[str]:
    """Names of the functions called back on the host anywhere in ``fn``'s jaxpr."""
    found = []

    def walk(jaxpr):
        for eqn in jaxpr.eqns:
            name = eqn.primitive.name
            if "callback" in name or "print" in name:
                cb = eqn.params.get("callback")
                inner = getattr(cb, "callback_func", cb)
                found.append(
                    f"{name}: {getattr(inner, '__module__', '?')}."
                    f"{getattr(inner, '__qualname__', repr(inner))}"
                )
            for value in eqn.params.values():
                for sub in value if isinstance(value, list | tuple) else [value]:
                    if isinstance(sub, jax.extend.core.ClosedJaxpr):
                        walk(sub.jaxpr)
                    elif isinstance(sub, jax.extend.core.Jaxpr):
                        walk(sub)

    walk(jax.make_jaxpr(fn)(*args).jaxpr)
    return found


def lower_for_cuda(fn: Callable, args) -> set[str]:
    """Custom-call targets of ``jit(fn)(*args)`` lowered for CUDA. Targets that export
    refuses (no compatibility guarantee, e.g. ``cuhybrid_eig_real``) are let through so
    that they are reported by name."""
    jitted = fn if isinstance(fn, jax.stages.Wrapped) else jax.jit(fn)
    disabled: list[str] = []
    for _ in range(8):
        checks = [export.DisabledSafetyCheck.custom_call(t) for t in disabled]
        try:
            exp = export.export(jitted, platforms=("cuda",), disabled_checks=checks)(*args)
        except ValueError as err:
            msg = str(err)
            if "different from the lowering platform" in msg:  # a callback needs a backend
                raise AssertionError(
                    f"host callback in the kernel: {host_callbacks(fn, args)}"
                ) from err
            new = set(_UNGUARANTEED.findall(msg)) - set(disabled)
            if "compatibility guarantees" not in msg or not new:
                raise
            disabled.extend(sorted(new))
            continue
        return custom_call_targets(exp.mlir_module())
    raise AssertionError(f"too many refused custom calls: {disabled}")


@pytest.fixture(scope="module", autouse=True)
def _errors_as_nan():
    """Lower ``eqx.error_if`` as NaN selects (see the module docstring). JAX's trace caches
    do not know about this mode, so they are cleared when entering and leaving it."""
    saved = equinox._errors.EQX_ON_ERROR
    jax.clear_caches()
    equinox._errors.EQX_ON_ERROR = "nan"
    yield
    equinox._errors.EQX_ON_ERROR = saved
    jax.clear_caches()


# ------------------------------------------------------------------------------- kernels
C128, F64 = jnp.complex128, jnp.float64


def _sds(shape, dtype=F64):
    return jax.ShapeDtypeStruct(shape, dtype)


def _steady(solver, n, batch=300):
    def f(H, c):
        return jaxspin.steadystate(H, c, solver=solver, throw=False).rho

    return f, (_sds((batch, n, n), C128), _sds((batch, 2, n, n), C128))


def _response(solver, n, batch=300):
    def f(H, c, s):
        ss, xs = jaxspin.linear_response(H, c, s, solver=solver, throw=False)
        return ss.rho, xs

    return f, (_sds((batch, n, n), C128), _sds((batch, 2, n, n), C128), _sds((3, n, n), C128))


def _stationary(solver):
    return lambda W: jaxspin.stationary_distribution(W, solver=solver, throw=False).p, (
        _sds((300, 6, 6)),
    )


def _blocks(sizes=(2, 3, 2)):
    diag = [jnp.ones((d, d)) for d in sizes]
    lower = [jnp.ones((b, a)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    upper = [jnp.ones((a, b)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    return jaxspin.BlockTridiagonalRates(diag, lower, upper)


def _block_stationary():
    return lambda r: jaxspin.stationary_block_tridiagonal(r, throw=False).p, (_blocks(),)


def _block_relaxation():
    return lambda r: jaxspin.relaxation_rates_block_tridiagonal(r, 2), (_blocks(),)


def _odesolve():
    def f(k, y0, ts):
        return jaxspin.odesolve(lambda t, y, k: -k * y, y0, ts, k, throw=False).ys

    return f, (_sds(()), _sds((3,)), _sds((5,)))


def _mesolve():
    def f(H, c, rho0, ts):
        return jaxspin.mesolve(H, c, rho0, ts, throw=False).ys

    return f, (_sds((2, 2), C128), _sds((1, 2, 2), C128), _sds((2, 2), C128), _sds((4,)))


def _ratesolve():
    return lambda W, p0, ts: jaxspin.ratesolve(W, p0, ts, throw=False).ys, (
        _sds((4, 4)),
        _sds((4,)),
        _sds((5,)),
    )


def _overhauser_mc():
    def f(omega_b, key):
        field = jaxspin.OverhauserField(omega_b, 0.0, 0.5)
        return jaxspin.overhauser_mc(lambda w: w @ w, field, key, 4096, chunk_size=1024).value

    return f, (_sds(()), jax.random.key(0))


def _overhauser_quad():
    def f(omega_b):
        field = jaxspin.OverhauserField(omega_b, 0.0, 0.5)
        return jaxspin.overhauser_quad(lambda z, p: z**2 + p, field).value

    return f, (_sds((8,)),)


def _overhauser_radial():
    def f(omega_b):
        field = jaxspin.OverhauserField(omega_b, 0.0, 0.5)
        return jaxspin.overhauser_radial(lambda r, mu, sin2: r**2 * sin2, field).value

    return f, (_sds((8,)),)


def sweep_chunk_program(fn, grid: dict, chunk: int, block: int | None):
    """The jitted chunk program of ``jaxspin.sweep(fn, grid)`` on one device and abstract
    inputs for it, rebuilt from ``_sweep``'s own pieces; checked to lower (for this
    machine) to exactly the StableHLO of ``_sweep._lower``."""
    g = _sweep._as_grid(grid, True)
    point = _sweep._point_fn(fn, g.names)
    devices = jax.local_devices()[:1]
    lowered, sharding, block, padded = _sweep._lower(point, g, devices, chunk, block)

    def on_device(*args):
        return jax.lax.map(lambda xs: point(*xs), args, batch_size=block)

    run = jax.jit(jax.vmap(on_device), in_shardings=sharding, out_shardings=sharding)
    args = [jax.ShapeDtypeStruct((1, padded), c.dtype, sharding=sharding) for c in g.coords]
    assert run.lower(*args).as_text() == lowered.as_text()
    return run, args


def _trion_point(delta, omega):
    """One point of benchmarks/bench_engine.py's 3-level trion model: ρ_tt."""
    H = jnp.zeros((3, 3)).at[2, 2].set(delta).at[1, 1].set(30.0)
    H = H.at[2, 0].set(omega / 2).at[0, 2].set(omega / 2).astype(C128)
    W = jnp.zeros((3, 3)).at[0, 2].set(1.0).at[1, 2].set(0.05).at[0, 1].set(0.01)
    W = W.at[1, 0].set(0.01)
    return jaxspin.steadystate(H, rates=W, throw=False).rho[2, 2].real


def _sweep_chunk():
    grid = {"delta": np.linspace(-5.0, 5.0, 40), "omega": np.linspace(0.1, 3.0, 40)}
    return sweep_chunk_program(_trion_point, grid, chunk=1024, block=None)


def _spectral(fn, n=3, batch=8):
    def f(H, c, A, B, w):
        return fn(H, c, A, B, w)

    args = (_sds((batch, n, n), C128), _sds((batch, 2, n, n), C128))
    return f, args + (_sds((n, n), C128), _sds((n, n), C128), _sds((50,)))


def _spectrum_grad():
    def f(H, c, A, B, w):
        return jax.grad(lambda H: jnp.sum(jaxspin.spectrum(H, c, A, B, w)))(H)

    return f, (_sds((3, 3), C128), _sds((2, 3, 3), C128), _sds((3, 3), C128)) + (
        _sds((3, 3), C128),
        _sds((5,)),
    )


def _fit_step():
    def model(p, t):
        return p["a"] * jnp.exp(-p["k"] * t)

    def f(a, k, t, y):
        res = jaxspin.fit(model, {"a": a, "k": k}, t, y, max_steps=1, throw=False)
        return res.params, res.covariance

    return f, (_sds(()), _sds(()), _sds((20,)), _sds((20,)))


def _danon11_response():
    def f(b, d):
        lind = jax.vmap(lambda b, d: danon11.DoubleDot(d, 0.3, 1.0).lindbladian(b))(b, d)
        ops = danon11.DoubleDot(0.0, 0.3, 1.0).spin_ops
        r = danon11.spin_response(lind.H, None, ops, rates=lind.rates, throw=False)
        return r.S, r.chi, r.R

    return f, (_sds((300,)), _sds((300,)))


def _danon11_fixed_points():
    model = danon11.DoubleDot(
        5.0, 0.5, 1.0, coupling=10.0, num_nuclei=10.0, nuclear_relaxation=1e-3
    )

    def f(model, b_ext):
        fp = danon11.fixed_points(model, b_ext, grid_size=33, max_roots=4)
        return fp.k_z, fp.stable

    return f, (model, _sds(()))


def _danon11_build_up():
    model = danon11.DoubleDot(5.0, 0.5, 1.0, coupling=10.0, num_nuclei=10.0)

    def f(model, b_ext, ts):
        return danon11.build_up(model, b_ext, ts, throw=False).ys

    return f, (model, _sds(()), _sds((4,)))


def _smirnov24_optimal_field():
    def f(tau_c):
        res = smirnov24.optimal_field(smirnov24.Parameters.paper(tau_c), num_grid=16, throw=False)
        return res.field, res.beta_max

    return f, (_sds((4,)),)


def _latta09_map_point():
    params, space = latta09.Latta09Params(), latta09.DickeSpace(20)
    detunings = np.arange(-4, 5) * float(params.hyperfine) / space.n_nuclei

    def point(rabi):
        q = eqx.tree_at(lambda p: p.rabi, params, rabi)
        ss = latta09.detuning_scan(q, space, detunings)
        return {k: getattr(ss, k) for k in latta09.MAP_OUTPUTS}

    return sweep_chunk_program(point, {"rabi": np.linspace(0.2, 3.0, 4)}, chunk=4, block=None)


def _latta09_drag():
    space = latta09.DickeSpace(20)

    def f(params, detunings, dwells):
        scan = latta09.drag(params, space, detunings, dwells)
        return scan.absorption, scan.polarization

    return f, (latta09.Latta09Params(), _sds((6,)), _sds((2,)))


def _deluca16_steady_state():
    par = deluca16.table1(U_mhz=15.0)
    models = deluca16.random_models(jax.random.PRNGKey(0), 4, 3, par)

    def f(models):
        st = deluca16.steady_state(models, throw=False)
        return st.p, st.nuclear_polarization

    return f, (models,)


def _deluca16_relaxation_rates():
    par = deluca16.table1(U_mhz=15.0)
    models = deluca16.random_models(jax.random.PRNGKey(0), 4, 3, par)
    return lambda models: deluca16.relaxation_rates(models, 2), (models,)


def _gong11_diffusion_map():
    nb = gong11.neighbourhood(gong11.SquareLattice())

    def f(dot, points):
        return gong11.diffusion_map(dot, nb, points)

    return f, (gong11.QuantumDot(B0_T=0.2), _sds((500, 2)))


def _gong11_decay():
    grid = gong11.DiskGrid(radius_nm=30.0, spacing_nm=3.0)

    def f(dot, ts):
        return gong11.overhauser_decay(dot, ts, grid=grid, solver=gong11.Krylov(num_steps=32))

    return f, (gong11.QuantumDot(B0_T=2.0), _sds((6,)))


def _gong11_lattice_decay():
    def f(dot, ts):
        return gong11.lattice_decay(dot, ts, radius_nm=6.0, solver=gong11.Krylov(num_steps=16))

    return f, (gong11.QuantumDot(B0_T=2.0), _sds((6,)))


KERNELS: dict[str, Callable[[], tuple[Callable, Any]]] = {
    "steadystate[DenseLU unrolled, n=2]": lambda: _steady(jaxspin.DenseLU(), 2),
    "steadystate[DenseLU LAPACK, n=3]": lambda: _steady(jaxspin.DenseLU(unroll_max=0), 3),
    "steadystate[Iterative, n=3]": lambda: _steady(jaxspin.Iterative(), 3),
    "linear_response[DenseLU unrolled, n=2]": lambda: _response(jaxspin.DenseLU(), 2),
    "linear_response[DenseLU LAPACK, n=3]": lambda: _response(jaxspin.DenseLU(unroll_max=0), 3),
    "linear_response[Iterative, n=3]": lambda: _response(jaxspin.Iterative(), 3),
    "stationary_distribution[GTH]": lambda: _stationary(jaxspin.GTH()),
    "stationary_distribution[DenseLUStationary]": lambda: _stationary(jaxspin.DenseLUStationary()),
    "stationary_block_tridiagonal": _block_stationary,
    "birth_death_stationary": lambda: (jaxspin.birth_death_stationary, (_sds((9,)),) * 2),
    "birth_death_modes": lambda: (
        lambda u, d: jaxspin.birth_death_modes(u, d).propagate(jnp.ones(10), 1.0),
        (_sds((9,)),) * 2,
    ),
    "relaxation_rates": lambda: (functools.partial(jaxspin.relaxation_rates, k=2), (_sds((6, 6)),)),
    "relaxation_rates (reverse-mode gradient)": lambda: (
        jax.grad(lambda w: jnp.sum(jaxspin.relaxation_rates(w, 2))),
        (_sds((6, 6)),),
    ),
    "relaxation_rates_block_tridiagonal": _block_relaxation,
    "odesolve[Kvaerno5]": _odesolve,
    "mesolve": _mesolve,
    "ratesolve": _ratesolve,
    "propagate": lambda: (jaxspin.propagate, (_sds((4, 4)), _sds((4,)), _sds((5,)))),
    "overhauser_mc": _overhauser_mc,
    "overhauser_quad": _overhauser_quad,
    "overhauser_radial": _overhauser_radial,
    "sweep chunk (trion steady state, _sweep._lower)": _sweep_chunk,
    "fit (one L-BFGS step + Hessian)": _fit_step,
    "spectrum": lambda: _spectral(jaxspin.spectrum),
    "spectrum (reverse-mode gradient)": _spectrum_grad,
    "susceptibility": lambda: _spectral(jaxspin.susceptibility),
    "correlation_2op_1t": lambda: _spectral(jaxspin.correlation_2op_1t),
    "danon11.spin_response (double dot)": _danon11_response,
    "danon11.fixed_points (kernel of follow_branch/hysteresis)": _danon11_fixed_points,
    "danon11.build_up": _danon11_build_up,
    "smirnov24.optimal_field": _smirnov24_optimal_field,
    "latta09.polarization_map (sweep chunk of detuning_scan)": _latta09_map_point,
    "latta09.drag": _latta09_drag,
    "deluca16.steady_state (N=4: ED, rates, block GTH)": _deluca16_steady_state,
    "deluca16.relaxation_rates (N=4)": _deluca16_relaxation_rates,
    "gong11.diffusion_map": _gong11_diffusion_map,
    "gong11.overhauser_decay (Krylov)": _gong11_decay,
    "gong11.lattice_decay (Krylov)": _gong11_lattice_decay,
}


@pytest.mark.parametrize("name", list(KERNELS))
def test_kernel_lowers_for_cuda(name):
    fn, args = KERNELS[name]()
    targets = lower_for_cuda(fn, args)
    print(f"{name}: {sorted(targets)}")
    bad = sorted(t for t in targets if forbidden(t))
    assert not bad, f"{name} lowers to host or CPU-only custom calls {bad} (all: {sorted(targets)})"


def test_checker_rejects_host_work():
    """The check itself: a host callback and JAX's hybrid eig are caught, cuSOLVER is not."""
    callback = lambda x: jax.pure_callback(np.sin, jax.ShapeDtypeStruct(x.shape, x.dtype), x)
    with pytest.raises(AssertionError, match="host callback.*numpy"):
        lower_for_cuda(callback, (_sds((3,)),))
    eig = lower_for_cuda(jnp.linalg.eigvals, (_sds((4, 4)),))
    assert eig == {"cuhybrid_eig_real"} and forbidden("cuhybrid_eig_real")
    assert forbidden("lapack_dgetrf_ffi") and forbidden("xla_ffi_python_gpu_callback")
    assert lower_for_cuda(jnp.linalg.inv, (_sds((4, 4)),)) == {
        "cusolver_getrf_ffi",
        "cu_lu_pivots_to_permutation",
    }
