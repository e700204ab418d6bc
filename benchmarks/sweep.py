"""Sweep layer: cache blocking, sweep overhead, and sharding over CPU devices.

Times, for two single-point kernels over ``--points`` points:

* a plain ``jit(vmap(fn))`` over all points (the baseline),
* ``jit(lax.map(fn, batch_size=b))`` (cache-blocked vmap) for several block sizes,
* ``jaxspin.sweep`` on one device and on its default devices (all of them, or one fewer
  than the cores on CPU for kernels that call LAPACK), end to end (chunking, host copies);
  each ``sweep`` call traces and compiles once, which its log record reports separately.

Kernels: ``solve3`` (a 3x3 real linear solve), ``lines`` (an absorption spectrum summed
over 32 Lorentzian lines, elementwise only) and ``lindblad`` (the steady state of two
coupled spins 1/2 with decay: a 16x16 complex Liouvillian solve per point, the typical
jaxspin workload).

Run: ``python benchmarks/sweep.py [--points 100000] [--repeats 3]``. Unless
``JAXSPIN_CPU_DEVICES`` or ``XLA_FLAGS`` says otherwise, the script exposes one CPU device
per usable core so that the sharded sweep has devices to use.
"""

import argparse
import logging
import os
import time


os.environ.setdefault("JAXSPIN_CPU_DEVICES", "auto")
os.environ.setdefault("JAXSPIN_PROGRESS", "0")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import jaxspin  # noqa: E402, F401  (x64 and device settings before JAX starts)
from jaxspin._sweep import sweep  # noqa: E402


timings = []  # (run seconds, compile seconds, devices used) of each sweep, from its log


class _Timings(logging.Handler):
    def emit(self, record):
        _, _, run_s, n_devices, _, compile_s = record.args
        timings.append((run_s, compile_s, n_devices))


logging.getLogger("jaxspin.sweep").addHandler(_Timings())
logging.getLogger("jaxspin.sweep").setLevel(logging.INFO)


def solve3(a, b):
    m = jnp.array([[4.0 + a, b, 0.25], [a * b, 5.0, -a], [0.25, jnp.sin(b), 6.0 + a * a]])
    return jnp.linalg.solve(m, jnp.array([1.0, a, jnp.cos(b)]))


def lines(a, b):
    k = jnp.arange(32.0) - 15.5
    centres = 0.3 * k + 0.01 * k**2
    width = 0.05 + 0.02 * b
    return jnp.sum(jnp.exp(-0.1 * k**2) * width / ((a - centres) ** 2 + width**2))


_SX = np.array([[0, 1], [1, 0]]) / 2
_SY = np.array([[0, -1j], [1j, 0]]) / 2
_SZ = np.diag([0.5, -0.5])
_SM = np.array([[0, 0], [1, 0]])
_I2 = np.eye(2)
_PAIR = sum(np.kron(s, s) for s in (_SX, _SY, _SZ))
_Z1, _Z2 = np.kron(_SZ, _I2), np.kron(_I2, _SZ)
_JUMPS = [np.kron(_SM, _I2), 0.5 * np.kron(_I2, _SM), 0.3 * np.kron(_SZ, _I2)]


def lindblad(a, b):
    h = a * _Z1 + (1.0 + b) * _Z2 + 0.7 * _PAIR
    eye = jnp.eye(4)
    # Column-stacking vec: vec(A X B) = (B^T kron A) vec(X).
    liou = -1j * (jnp.kron(eye, h) - jnp.kron(h.T, eye))
    for c in _JUMPS:
        cdc = c.conj().T @ c
        liou = liou + np.kron(c.conj(), c) - 0.5 * (jnp.kron(eye, cdc) + jnp.kron(cdc.T, eye))
    trace_row = jnp.eye(4).reshape(-1)  # vec(1): the trace functional
    rhs = jnp.zeros(16, liou.dtype).at[0].set(1.0)
    rho = jnp.linalg.solve(liou.at[0].set(trace_row), rhs).reshape(4, 4).T
    return jnp.real(jnp.trace(rho @ _Z1))


def best_of(repeats, f):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(f())
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    side = int(round(np.sqrt(args.points)))
    n = side * side
    a = np.linspace(-3.0, 3.0, side)
    b = np.linspace(0.0, 2.0, side)
    aa, bb = (jnp.asarray(x.ravel()) for x in np.meshgrid(a, b, indexing="ij"))
    devices = jax.local_devices()
    print(f"{n} points, {len(devices)} {devices[0].platform} device(s), jax {jax.__version__}")

    for name, fn in [("solve3", solve3), ("lines", lines), ("lindblad", lindblad)]:
        print(f"\n{name}:")
        plain = jax.jit(jax.vmap(fn))
        jax.block_until_ready(plain(aa, bb))
        base = best_of(args.repeats, lambda: plain(aa, bb))
        print(f"  jit(vmap)                     {base * 1e3:8.1f} ms  (1.00x)")
        for block in (64, 256, 1024):
            blocked = jax.jit(lambda x, y: jax.lax.map(lambda p: fn(*p), (x, y), batch_size=block))
            jax.block_until_ready(blocked(aa, bb))
            t = best_of(args.repeats, lambda: blocked(aa, bb))
            print(f"  jit(lax.map, batch_size={block:<4})  {t * 1e3:8.1f} ms  ({base / t:.2f}x)")

        grid = {"a": a, "b": b}
        for devs in ([devices[0]], None):  # one device; the default (see sweep's docs)
            runs = []
            for _ in range(args.repeats):
                sweep(fn, grid, devices=devs, progress=False)
                runs.append(timings.pop())
            run_s, compile_s = min(r[0] for r in runs), min(r[1] for r in runs)
            label = f"sweep, {runs[0][2]} device(s)" + (" (default)" if devs is None else "")
            print(
                f"  {label:<29} {run_s * 1e3:8.1f} ms  ({base / run_s:.2f}x; "
                f"+ {compile_s:.2f} s trace+compile per call)"
            )


if __name__ == "__main__":
    main()
