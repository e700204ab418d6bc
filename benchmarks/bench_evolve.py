"""Lindblad time evolution, jaxspin.mesolve vs qutip.mesolve side by side (issue 17).

Cases (ħ = 1, all measured in this run, same process and thread settings):

- ``heisenberg n=32``: the qutip-tutorials dephasing Heisenberg chain, 5 spins ½
  (h = 2π, J = 2π·0.1 on x, y, z, dephasing γ = 0.01 per spin), |↑↓↓↓↓⟩, ⟨σz_i⟩ at 200
  times on [0, 50].
- ``cavity N=30``: a driven damped cavity, H = Δ a†a + F (a + a†), c = √κ a (Δ = 1,
  F = 2, κ = 0.5), from the vacuum, ⟨a†a⟩ at 100 times on [0, 20].
- ``1000 qubits``: H = (Δ_i/2) σz + (Ω/2) σx, c = √γ σ−, Δ_i on [-5, 5], Ω = 2, γ = 0.2,
  ⟨σz⟩ at 50 times on [0, 10]: one ``jax.vmap`` of mesolve vs a Python loop of
  qutip.mesolve (a subset of the loop, extrapolated).
- ``propagate``: ``jaxspin.propagate`` of the real superoperator of a random n = 15
  Lindbladian (m = 225) on uniform grids of 30 and 300 times and a 30-point logspace,
  against the previous implementation (one ``expm`` per saved time, vmapped and jitted,
  run here) and ``scipy.linalg.expm`` per time (item 4).

jaxspin runs its default solver (the rule in ``jaxspin/_mesolve.py``: Tsit5 here) at its
default tolerances (rtol 1e-8, atol 1e-10); QuTiP runs its default Adams solver at
rtol 1e-8, atol 1e-10 as well. ``max |Δ⟨·⟩|`` compares the two. Compile time (first call
minus a later one) is reported apart from the run time (median of repeats).

Run: ``python benchmarks/bench_evolve.py [--quick]`` (needs QuTiP, ``pip install -e .[test]``).
"""

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

import jaxspin


try:  # the benchmarks run both as `python benchmarks/x.py` and as jaxspin.benchmarks.x
    from ._common import machine, print_table, time_jax, time_python
except ImportError:  # pragma: no cover
    from _common import machine, print_table, time_jax, time_python


def _qutip():
    try:
        import qutip
    except ImportError as err:  # pragma: no cover
        raise SystemExit(
            "bench_evolve compares against QuTiP: pip install -e '.[test]' (or pip install qutip)."
        ) from err
    return qutip


def heisenberg(qutip, N: int = 5):
    si, sx, sy, sz = qutip.qeye(2), qutip.sigmax(), qutip.sigmay(), qutip.sigmaz()

    def op(a, k):
        return qutip.tensor([a if j == k else si for j in range(N)])

    h, J, gamma = 2 * np.pi, 2 * np.pi * 0.1, 0.01
    H = sum(-0.5 * h * op(sz, k) for k in range(N))
    for k in range(N - 1):
        for a in (sx, sy, sz):
            H += -0.5 * J * op(a, k) * op(a, k + 1)
    c_ops = [np.sqrt(gamma) * op(sz, k) for k in range(N)]
    psi0 = qutip.tensor([qutip.basis(2, 0)] + [qutip.basis(2, 1)] * (N - 1))
    e_ops = [op(sz, k) for k in range(N)]
    return H, c_ops, psi0, np.linspace(0, 50, 200), e_ops


def cavity(qutip, N: int = 30):
    a = qutip.destroy(N)
    H = 1.0 * a.dag() * a + 2.0 * (a + a.dag())
    return H, [np.sqrt(0.5) * a], qutip.basis(N, 0), np.linspace(0, 20, 100), [a.dag() * a]


OPTIONS = {"rtol": 1e-8, "atol": 1e-10, "nsteps": 100_000}


def single(qutip, name, problem, repeats):
    H, c_ops, psi0, ts, e_ops = problem
    Hj, cj, pj = H.full(), [c.full() for c in c_ops], psi0.full()
    ej = {f"e{i}": e.full() for i, e in enumerate(e_ops)}

    def run_jax():
        return jaxspin.mesolve(Hj, cj, pj, ts, e_ops=ej).expects

    compile_s, run_s = time_jax(run_jax, repeats=repeats)
    ref = qutip.mesolve(H, psi0, ts, c_ops, e_ops=e_ops, options=OPTIONS)
    qt_s = time_python(lambda: qutip.mesolve(H, psi0, ts, c_ops, e_ops=e_ops, options=OPTIONS))
    got = run_jax()
    err = max(
        float(np.max(np.abs(np.asarray(got[f"e{i}"]) - ref.expect[i]))) for i in range(len(e_ops))
    )
    return {
        "case": name,
        "jaxspin run [s]": run_s,
        "jaxspin compile [s]": compile_s,
        "qutip [s]": qt_s,
        "jaxspin/qutip": run_s / qt_s,
        "max |Δ<.>|": err,
    }


def batch(qutip, count: int, subset: int, repeats: int):
    sx, sz, sm = (
        np.asarray(a)
        for a in (qutip.sigmax().full(), qutip.sigmaz().full(), qutip.destroy(2).full())
    )
    deltas = np.linspace(-5.0, 5.0, count)
    ts = np.linspace(0.0, 10.0, 50)
    psi0 = np.array([1.0, 0.0], complex)
    c = np.sqrt(0.2) * sm

    @jax.jit
    def run_jax(d):
        def one(di):
            H = 0.5 * di.astype(complex) * sz + 1.0 * sx
            return jaxspin.mesolve(H, [c], psi0, ts, e_ops={"sz": sz}).expects["sz"]

        return jax.vmap(one)(d)

    compile_s, run_s = time_jax(run_jax, jnp.asarray(deltas), repeats=repeats)

    def loop(ds):
        return [
            qutip.mesolve(
                qutip.Qobj(0.5 * d * sz + sx),
                qutip.Qobj(psi0),
                ts,
                [qutip.Qobj(c)],
                e_ops=[qutip.Qobj(sz)],
                options=OPTIONS,
            ).expect[0]
            for d in ds
        ]

    pick = deltas[:: max(1, count // subset)][:subset]
    t0 = time.perf_counter()
    ref = loop(pick)
    qt_s = (time.perf_counter() - t0) * count / len(pick)
    got = np.asarray(run_jax(jnp.asarray(deltas)))[:: max(1, count // subset)][:subset]
    return {
        "case": f"{count} qubits (vmap vs loop)",
        "jaxspin run [s]": run_s,
        "jaxspin compile [s]": compile_s,
        "qutip [s]": qt_s,
        "jaxspin/qutip": run_s / qt_s,
        "max |Δ<.>|": float(np.max(np.abs(got - np.asarray(ref)))),
    }


def _expm_per_time(A, y0, ts):
    """The previous ``propagate``: one dense matrix exponential per saved time."""
    expms = jax.vmap(lambda t: jax.scipy.linalg.expm(A * (t - ts[0])))(ts)
    return jnp.einsum("tij,j->ti", expms, y0)


def propagate_rows(n: int, repeats: int) -> list[dict]:
    import scipy.linalg

    rng = np.random.default_rng(7)
    H = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    jumps = [0.3 * (rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))) for _ in range(2)]
    A = jaxspin.Lindbladian(H + H.conj().T, jumps).real_superop()
    y0 = jnp.zeros(n * n).at[0].set(1.0)
    old = jax.jit(_expm_per_time)
    rows = []
    for label, ts in (
        ("uniform T=30", np.linspace(0.0, 3.0, 30)),
        ("uniform T=300", np.linspace(0.0, 3.0, 300)),
        ("logspace T=30", np.logspace(-3, np.log10(3.0), 30)),
    ):
        tj = jnp.asarray(ts)
        new_c, new_s = time_jax(jaxspin.propagate, A, y0, tj, repeats=repeats)
        old_c, old_s = time_jax(old, A, y0, tj, repeats=repeats)
        An = np.asarray(A)
        sp_s = time_python(lambda: [scipy.linalg.expm(An * (t - ts[0])) for t in ts], repeats=1)
        err = float(jnp.max(jnp.abs(jaxspin.propagate(A, y0, tj) - old(A, y0, tj))))
        rows.append(
            {
                "case": f"m={n * n} {label}",
                "jaxspin run [s]": new_s,
                "jaxspin compile [s]": new_c,
                "expm per time [s]": old_s,
                "scipy expm loop [s]": sp_s,
                "old/new": old_s / new_s,
                "max |Δy|": err,
            }
        )
    return rows


def run(quick: bool = False) -> list[dict]:
    qutip = _qutip()
    repeats = 2 if quick else 3
    rows = [
        single(qutip, "heisenberg n=32", heisenberg(qutip, 4 if quick else 5), repeats),
        single(qutip, "cavity N=30", cavity(qutip, 15 if quick else 30), repeats),
        batch(qutip, 100 if quick else 1000, 20 if quick else 50, repeats),
    ]
    print(f"machine: {machine()}")
    print_table(rows, "mesolve: jaxspin vs qutip (ratio < 1: jaxspin faster)")
    prop = propagate_rows(6 if quick else 15, repeats)
    print_table(prop, "propagate: stepping with shared expm vs one expm per time (old/new > 1)")
    return rows + prop


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    run(parser.parse_args().quick)
