"""Danon11 benchmark: S, χ, R against the steady state alone; the double-dot pumping map.

Rows (all measured in this run, same process and thread settings):

- ``steady state alone`` vs ``S, χ, R``: batched over double-dot points (3 levels) and
  random 4-level Lindbladians; target: S, χ, R together ≤ 3x the steady state alone
  (one factorisation serves the steady state and all six response solves).
- ``pumping map``: d⟨K_z⟩/dt of the double dot [Danon11, Eq. (12)/(23)] over a
  1000 x 1000 (B_eff, d) grid with ``jaxspin.sweep`` over all JAX CPU devices; target
  < 30 s on a 2-core CPU.
- ``QuTiP loop``: the same computation per point written with QuTiP (``liouvillian``,
  ``steadystate``, then the linear-response solves of Eq. (3) with NumPy on QuTiP's
  superoperator), timed on a few hundred points and extrapolated to the full grid.

Run: ``JAXSPIN_CPU_DEVICES=auto python benchmarks/bench_danon11.py [--quick]``.
"""

import argparse
import os
import time


os.environ.setdefault("JAXSPIN_CPU_DEVICES", "auto")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import jaxspin  # noqa: E402
from jaxspin.danon11 import DoubleDot, spin_response  # noqa: E402


try:  # the benchmarks run both as `python benchmarks/x.py` and as jaxspin.benchmarks.x
    from ._common import SweepLog, machine, print_table, time_jax, time_python
except ImportError:  # pragma: no cover
    from _common import SweepLog, machine, print_table, time_jax, time_python


TUNNEL, GAMMA, K_Z = 0.3, 1.0, 0.0  # units of Γ; A_n = 1


def point(b_eff, detuning):
    """One point of the map: d⟨K_z⟩/dt at ⟨K_z⟩ = 0 [A_n²/Γ]."""
    return DoubleDot(detuning, TUNNEL, GAMMA, coupling=1.0, num_nuclei=1.0).pumping_rate(K_Z, b_eff)


def double_dot_batch(npoints, seed=0):
    rng = np.random.default_rng(seed)
    b = jnp.asarray(rng.uniform(-10, 10, npoints))
    d = jnp.asarray(rng.uniform(-10, 10, npoints))
    lind = jax.vmap(lambda b, d: DoubleDot(d, TUNNEL, GAMMA).lindbladian(b))(b, d)
    return lind.H, lind.rates, DoubleDot(0.0, TUNNEL, GAMMA).spin_ops


def random_batch(npoints, n=4, seed=1):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(npoints, n, n)) + 1j * rng.normal(size=(npoints, n, n))
    H = jnp.asarray((a + np.conj(np.swapaxes(a, -1, -2))) / 2)
    c = jnp.asarray(
        (rng.normal(size=(npoints, 2, n, n)) + 1j * rng.normal(size=(npoints, 2, n, n))) / 2
    )
    b = rng.normal(size=(3, n, n)) + 1j * rng.normal(size=(3, n, n))
    ops = jnp.asarray((b + np.conj(np.swapaxes(b, -1, -2))) / 2)
    return H, c, ops


# --------------------------------------------------------------------------------- QuTiP
def qutip_point(b_eff, detuning):
    """The same computation with QuTiP: steady state, then L x = -source for the χ and R
    sources of Eq. (3) (NumPy on QuTiP's column-stacking superoperator), then Eq. (12)."""
    import qutip

    basis = [qutip.basis(3, i) for i in range(3)]
    L_, up, down = basis
    H = (
        detuning * L_ * L_.dag()
        + b_eff * down * down.dag()
        + TUNNEL * (L_ * up.dag() + up * L_.dag())
    )
    c_ops = [np.sqrt(GAMMA) * L_ * up.dag(), np.sqrt(GAMMA) * L_ * down.dag()]
    sp = up * down.dag()
    S = [0.5 * (sp + sp.dag()), -0.5j * (sp - sp.dag()), 0.5 * (up * up.dag() - down * down.dag())]
    rho = qutip.steadystate(H, c_ops)
    Lsup = qutip.liouvillian(H, c_ops).full()
    trace_row = qutip.operator_to_vector(qutip.qeye(3)).full().ravel().conj()
    A = np.vstack([Lsup, trace_row])
    chi, R = np.zeros((3, 3)), np.zeros((3, 3))
    for b, Sb in enumerate(S):
        mean_b = qutip.expect(Sb, rho)
        for M, src in (
            (chi, 1j * (rho * Sb - Sb * rho)),
            (R, rho * Sb + Sb * rho - 2 * mean_b * rho),
        ):
            rhs = np.r_[-qutip.operator_to_vector(src).full().ravel(), 0.0]
            x = np.linalg.lstsq(A, rhs, rcond=None)[0]
            X = qutip.vector_to_operator(qutip.Qobj(x[:, None], dims=[[[3], [3]], [1]]))
            for a, Sa in enumerate(S):
                M[a, b] = qutip.expect(Sa, X).real
    K = 0.5
    return (1 / 3) * K * (K + 1) * (chi[0, 1] - chi[1, 0]) - 0.5 * (R[0, 0] + R[1, 1]) * K_Z


def qutip_loop(bs, ds):
    return np.array([qutip_point(float(b), float(d)) for b, d in zip(bs, ds, strict=True)])


def pumping_map(side):
    b = np.linspace(-10.0, 10.0, side)
    d = np.linspace(-10.0, 10.0, side)
    t0 = time.perf_counter()
    with SweepLog() as log:
        res = jaxspin.sweep(point, {"b_eff": b, "detuning": d}, progress=False)
    return res, log, time.perf_counter() - t0


# ----------------------------------------------------------------------------------- run
def run(quick: bool = False) -> list[dict]:
    rows = []
    nbatch = 20_000 if quick else 100_000
    for name, (H, c, rates, ops) in {
        "double dot (n = 3)": (lambda H, W, o: (H, None, W, o))(*double_dot_batch(nbatch)),
        "random Lindbladian (n = 4)": (lambda H, c, o: (H, c, None, o))(*random_batch(nbatch)),
    }.items():
        ss = jax.jit(lambda H, c, r: jaxspin.steadystate(H, c, rates=r).rho)
        sr = jax.jit(lambda H, c, r: spin_response(H, c, ops, rates=r))
        c_ss, t_ss = time_jax(ss, H, c, rates, repeats=3)
        c_sr, t_sr = time_jax(sr, H, c, rates, repeats=3)
        rows.append(
            dict(
                task=f"steady state alone, {name}",
                points=nbatch,
                compile_s=c_ss,
                run_s=t_ss,
                target="baseline",
                ratio=1.0,
            )
        )
        rows.append(
            dict(
                task=f"S, chi, R together, {name}",
                points=nbatch,
                compile_s=c_sr,
                run_s=t_sr,
                target="<= 3x steady state",
                ratio=t_sr / t_ss,
            )
        )

    side = 300 if quick else 1000
    res, log, wall = pumping_map(side)
    values = np.asarray(res.values)
    npoints = side * side
    rows.append(
        dict(
            task=f"pumping map {side}x{side}, jaxspin.sweep ({log.devices} devices)",
            points=npoints,
            compile_s=log.compile_s,
            run_s=log.run_s,
            target="< 30 s (2-core CPU)",
            ratio=1.0,
        )
    )
    nq = 100 if quick else 300
    rng = np.random.default_rng(2)
    ib, idd = rng.integers(0, side, nq), rng.integers(0, side, nq)
    b = np.linspace(-10.0, 10.0, side)
    try:
        t_q = time_python(qutip_loop, b[ib], b[idd], repeats=1)
        per_point = t_q / nq
        ref = qutip_loop(b[ib[:20]], b[idd[:20]])
        err = np.max(np.abs(ref - values[ib[:20], idd[:20]]) / np.abs(ref))
        rows.append(
            dict(
                task=f"QuTiP loop ({nq} points, extrapolated)",
                points=npoints,
                compile_s=0.0,
                run_s=per_point * npoints,
                target="baseline",
                ratio=per_point * npoints / log.run_s,
            )
        )
        print(f"max relative difference jaxspin vs QuTiP on 20 map points: {err:.2e}")
    except ImportError:
        print("qutip not installed: QuTiP baseline skipped")
    print_table(rows, title=f"Danon11: S, chi, R and the double-dot pumping map — {machine()}")
    print(
        f"(pumping map wall time including compile: {wall:.1f} s; 'ratio' of the QuTiP row "
        "is QuTiP time / jaxspin time)"
    )
    return rows


def scaling(quick: bool = False) -> dict:
    sides = [30, 100, 300] + ([] if quick else [1000])
    seconds = []
    for side in sides:
        _, log, _ = pumping_map(side)
        seconds.append(log.run_s)
    return dict(
        xlabel="grid points (B_eff x d)",
        sizes=[s * s for s in sides],
        seconds=seconds,
        label="double-dot pumping rate (S, chi, R per point), jaxspin.sweep",
        title="Danon11: double-dot pumping map",
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    run(quick=args.quick)


if __name__ == "__main__":
    main()
