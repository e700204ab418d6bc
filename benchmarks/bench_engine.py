"""Engine benchmark: batched steady states of a laser-driven trion-like 3-level system.

Model (ħ = 1, units of Γ): states |↑>, |↓>, |t>; H = Δ|t><t| + (Ω/2)(|t><↑| + h.c.)
+ ω_z|↓><↓|; rates Γ (t→↑), γ (t→↓), κ (↑↔↓). A sweep over (Δ, Ω).

Rows (all measured in this run, same process and thread settings):

- ``naive vmap``: the textbook route, complex n² × n² Liouvillian from Kronecker products,
  trace row added, ``jnp.linalg.solve`` (LAPACK), one ``vmap`` over all points.
- ``jaxspin.steadystate``: real Hermitian parametrisation built without Kronecker products,
  unrolled vectorised LU, cache-blocked batching, one device.
- ``jaxspin.sweep (sharded)``: the same kernel through the sweep layer, sharded over every
  JAX CPU device (run with ``JAXSPIN_CPU_DEVICES=auto``, as ``jaxspin bench`` does).
- ``qutip.steadystate loop``: a Python loop of QuTiP solves on a subset, extrapolated.
- ``grad``: reverse-mode gradient of Σ ρ_tt with respect to all (Δ, Ω) vs the forward solve.

Run: ``JAXSPIN_CPU_DEVICES=auto python benchmarks/bench_engine.py [--quick]``.
"""

import argparse
import os


os.environ.setdefault("JAXSPIN_CPU_DEVICES", "auto")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import jaxspin  # noqa: E402


try:  # the benchmarks run both as `python benchmarks/x.py` and as jaxspin.benchmarks.x
    from ._common import SweepLog, machine, print_table, time_jax, time_python
except ImportError:  # pragma: no cover
    from _common import SweepLog, machine, print_table, time_jax, time_python


GAMMA, GAMMA_HHLH, KAPPA, OMEGA_Z = 1.0, 0.05, 0.01, 30.0


def trion(delta, omega):
    """Hamiltonian and rates of one point (basis ↑, ↓, t)."""
    dt = jnp.result_type(float)
    H = jnp.zeros((3, 3), dt)
    H = H.at[2, 2].set(delta).at[1, 1].set(OMEGA_Z)
    H = H.at[2, 0].set(omega / 2).at[0, 2].set(omega / 2)
    W = jnp.zeros((3, 3), dt)
    W = W.at[0, 2].set(GAMMA).at[1, 2].set(GAMMA_HHLH).at[0, 1].set(KAPPA).at[1, 0].set(KAPPA)
    return H.astype(jnp.result_type(complex)), W


def point_jaxspin(delta, omega):
    H, W = trion(delta, omega)
    return jaxspin.steadystate(H, rates=W).rho[2, 2].real


def point_naive(delta, omega):
    """Complex vec-Liouvillian via Kronecker products + LAPACK solve (the baseline)."""
    H, W = trion(delta, omega)
    n = 3
    eye = jnp.eye(n, dtype=H.dtype)
    L = -1j * (jnp.kron(H, eye) - jnp.kron(eye, H.T))
    for j in range(n):
        for i in range(n):
            c = jnp.zeros((n, n), H.dtype).at[j, i].set(jnp.sqrt(W[j, i]).astype(H.dtype))
            cdc = c.conj().T @ c
            L = L + jnp.kron(c, c.conj()) - 0.5 * jnp.kron(cdc, eye) - 0.5 * jnp.kron(eye, cdc.T)
    vec_eye = eye.reshape(-1)
    A = L + jnp.outer(vec_eye / n, vec_eye)
    x = jnp.linalg.solve(A, vec_eye / n)
    return x.reshape(n, n)[2, 2].real


def grid(npoints):
    side = int(round(np.sqrt(npoints)))
    d = jnp.linspace(-5.0, 5.0, side)
    o = jnp.linspace(0.1, 3.0, side)
    D, O = jnp.meshgrid(d, o, indexing="ij")
    return D.reshape(-1), O.reshape(-1)


def qutip_loop(deltas, omegas):
    import qutip

    out = []
    for d, o in zip(deltas, omegas, strict=True):
        H, W = trion(float(d), float(o))
        c = []
        for j in range(3):
            for i in range(3):
                if W[j, i] > 0:
                    c.append(float(np.sqrt(W[j, i])) * qutip.basis(3, j) * qutip.basis(3, i).dag())
        out.append(qutip.steadystate(qutip.Qobj(np.asarray(H)), c).full()[2, 2].real)
    return np.array(out)


def run(quick: bool = False) -> list[dict]:
    npoints = 250_000 if quick else 1_000_000
    D, O = grid(npoints)
    npoints = int(D.size)
    rows = []

    naive = jax.jit(jax.vmap(point_naive))
    c_naive, t_naive = time_jax(naive, D, O, repeats=3)
    ref = np.asarray(naive(D, O))
    rows.append(
        dict(
            method="naive vmap (kron + LAPACK)",
            points=npoints,
            compile_s=c_naive,
            run_s=t_naive,
            points_per_s=npoints / t_naive,
            speedup_vs_naive=1.0,
        )
    )

    ours = jax.jit(_ours)
    c_ours, t_ours = time_jax(ours, D, O, repeats=3)
    err = float(np.max(np.abs(np.asarray(ours(D, O)) - ref)))
    rows.append(
        dict(
            method="jaxspin.steadystate (1 device)",
            points=npoints,
            compile_s=c_ours,
            run_s=t_ours,
            points_per_s=npoints / t_ours,
            speedup_vs_naive=t_naive / t_ours,
        )
    )

    side = int(round(np.sqrt(npoints)))
    g = {"delta": np.linspace(-5.0, 5.0, side), "omega": np.linspace(0.1, 3.0, side)}
    with SweepLog() as log:
        res = jaxspin.sweep(point_jaxspin, g, progress=False)
    vals = np.asarray(res.values).reshape(-1)
    err = max(err, float(np.max(np.abs(vals - ref))))
    rows.append(
        dict(
            method=f"jaxspin.sweep ({log.devices} devices)",
            points=npoints,
            compile_s=log.compile_s,
            run_s=log.run_s,
            points_per_s=npoints / log.run_s,
            speedup_vs_naive=t_naive / log.run_s,
        )
    )

    try:
        nq = 100 if quick else 300
        idx = np.linspace(0, npoints - 1, nq).astype(int)
        t_q = time_python(qutip_loop, np.asarray(D)[idx], np.asarray(O)[idx], repeats=1)
        per_point = t_q / nq
        rows.append(
            dict(
                method=f"qutip.steadystate loop ({nq} pts, extrapolated)",
                points=npoints,
                compile_s=0.0,
                run_s=per_point * npoints,
                points_per_s=1 / per_point,
                speedup_vs_naive=t_naive / (per_point * npoints),
            )
        )
        qerr = float(
            np.max(
                np.abs(qutip_loop(np.asarray(D)[idx[:20]], np.asarray(O)[idx[:20]]) - ref[idx[:20]])
            )
        )
        err = max(err, qerr)
    except ImportError:
        print("qutip not installed: QuTiP baseline skipped")

    obj = jax.jit(jax.grad(lambda d, o: jnp.sum(ours(d, o)), argnums=(0, 1)))
    c_g, t_g = time_jax(obj, D, O, repeats=3)
    rows.append(
        dict(
            method="reverse-mode grad of sum(rho_tt) wrt (Δ, Ω)",
            points=npoints,
            compile_s=c_g,
            run_s=t_g,
            points_per_s=npoints / t_g,
            speedup_vs_naive=t_g / t_ours,
        )
    )
    print_table(rows, title=f"Steady states of a 3-level trion model — {machine()}")
    print(f"max |rho_tt - naive| over all points and methods: {err:.2e}")
    print("(last row: 'speedup_vs_naive' column holds grad time / forward time)")
    return rows


def _batched_trion(d, o):
    return jax.vmap(trion)(d, o)


def _ours(d, o):
    H, W = _batched_trion(d, o)
    return jaxspin.steadystate(H, rates=W).rho[:, 2, 2].real


def scaling(quick: bool = False) -> dict:
    sizes = [1_000, 10_000, 100_000] + ([] if quick else [1_000_000])
    seconds = []
    f = jax.jit(_ours)
    for npts in sizes:
        D, O = grid(npts)
        _, t = time_jax(f, D, O, repeats=3)
        seconds.append(t)
    return dict(
        xlabel="steady states (points)",
        sizes=sizes,
        seconds=seconds,
        label="jaxspin.steadystate, 3 levels",
        title="Engine: batched steady states",
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    run(quick=args.quick)


if __name__ == "__main__":
    main()
