"""Benchmark of [Smirnov24]: the whole of Fig. 2(c,d) and Monte Carlo Overhauser averages.

Rows (all measured in this run, same process and thread settings; one JAX device: the
batching is the engine's cache-blocked ``map_batched``):

- ``Fig. 2(c,d) jaxspin``: ``B0`` and ``β_max`` for 64 values of ``τc`` × 2 values of
  ``N_I`` with a 400-field grid per curve (51 200 evaluations of Eq. (6), each two radial
  Overhauser averages), then Newton polishing on ``dβ/dB = 0`` (``optimal_field``).
  Target: < 10 s on a 2-core CPU after compilation.
- ``Fig. 2(c,d) NumPy/SciPy``: an independent vectorised NumPy version of the same physics
  and the same algorithm (composite Gauss-Legendre radial rule, closed-form angular
  moments; the 400-field grid vectorised per τc with a coarse 16-node rule per piece, as
  jaxspin brackets with a coarse rule; then SciPy's bounded Brent search per curve with
  48 nodes per piece).
- ``Monte Carlo (S12)``: samples per second of :func:`jaxspin.overhauser_mc` on the
  integrand of Eq. (S12), against a chunked NumPy Monte Carlo (``default_rng`` normals).
  Target on a GPU: ≥ 1e8 samples/s (only the CPU number can be measured without one).

Run: ``python benchmarks/bench_smirnov24.py [--quick]``.
"""

import argparse
import math
import time

import jax
import jax.numpy as jnp
import numpy as np
from scipy import optimize

from jaxspin import smirnov24 as s24
from jaxspin._overhauser import OverhauserField, overhauser_mc


try:  # the benchmarks run both as `python benchmarks/x.py` and as jaxspin.benchmarks.x
    from ._common import machine, print_table, time_jax, time_python
except ImportError:  # pragma: no cover
    from _common import machine, print_table, time_jax, time_python


N_IS = np.array([1e6, 1e4])
B_LOCAL, DELTA_B = 1 / math.sqrt(3), 100.0  # fields in B̃_L, Δ_B = 100 B̃_L (Fig. 2)


# ------------------------------------------------------------------------------------------
# Independent NumPy/SciPy version of Fig. 2(c,d).

_GL = {n: np.polynomial.legendre.leggauss(n) for n in (16, 48)}


def _np_averages(tau, omega_b, n_gl=48):
    """K = <Ω_⊥²/(1+Ω²τ²)>, Λ = <1/(1+Ω²τ²)> for an array of Ω_B (σ = 1/2), by a
    composite Gauss-Legendre rule in |Ω| on [lo, c, 1/τ, hi] and exact angular moments."""
    s = 0.5
    c = np.abs(omega_b)[:, None]
    lo, hi = np.maximum(c - 9 * s, 0.0), c + 9 * s
    bp = np.clip(1.0 / tau if tau > 0 else np.inf, lo, hi)
    mid = np.clip(c, lo, hi)
    ends = np.sort(np.concatenate([lo, mid, bp, hi], axis=1), axis=1)  # (nb, 4)
    a, b = ends[:, :-1, None], ends[:, 1:, None]
    gl_x, gl_w = _GL[n_gl]
    r = (0.5 * (b - a) * gl_x + 0.5 * (a + b)).reshape(len(omega_b), -1)
    w = (0.5 * (b - a) * gl_w).reshape(len(omega_b), -1)
    x = 2 * r * c / s**2
    e = np.where(x < 1e-8, 1.0, -np.expm1(-x) / np.where(x < 1e-8, 1.0, x))
    dens = 2 * r**2 / (s**3 * math.sqrt(2 * math.pi)) * np.exp(-((r - c) ** 2) / (2 * s * s)) * e
    k = r * c / s**2
    ks = np.where(np.abs(k) < 1e-3, 1.0, k)
    lk = np.where(np.abs(k) < 1e-3, 1 / 3 - k**2 / 45, (1 / np.tanh(ks) - 1 / ks) / ks)
    lor = 1.0 / (1.0 + (r * tau) ** 2)
    kk = np.sum(w * dens * r**2 * 2 * lk * lor, axis=1)
    lam = np.sum(w * dens * lor, axis=1)
    return kk, lam


def _np_log_beta(tau, fields, n_i, n_gl=48):
    kk, lam = _np_averages(tau, fields / DELTA_B, n_gl)
    x2 = tau**2 / n_i
    phi = lam + 0.4 * (1 / (1 + x2) + 1 / (4 + x2))
    return np.log(fields) - np.log(fields**2 + phi * B_LOCAL**2 / kk)


def numpy_fig2cd(taus, num_grid):
    b0 = np.empty((len(taus), len(N_IS)))
    bmax = np.empty_like(b0)
    for i, tau in enumerate(taus):
        bt = math.sqrt(3) * B_LOCAL
        hi = max(min(10 * bt * (1 + tau), 30 * DELTA_B), 10 * bt)
        fields = np.geomspace(0.1 * B_LOCAL, hi, num_grid)
        for j, n_i in enumerate(N_IS):
            lb = _np_log_beta(tau, fields, n_i, n_gl=16)  # coarse rule to bracket
            m = int(np.argmax(lb))
            lo_b, hi_b = fields[max(m - 1, 0)], fields[min(m + 1, num_grid - 1)]
            res = optimize.minimize_scalar(
                lambda x, t=tau, n=n_i: -_np_log_beta(t, np.array([math.exp(x)]), n)[0],
                bounds=(math.log(lo_b), math.log(hi_b)),
                method="bounded",
                options={"xatol": 1e-10},
            )
            b0[i, j] = math.exp(res.x)
            bmax[i, j] = 2.0 * math.exp(-res.fun)  # 4 <S_z> with <S_z> = 1/2
    return b0, bmax


# ------------------------------------------------------------------------------------------
# jaxspin version.


def _params(taus):
    return s24.Parameters(jnp.asarray(taus)[:, None], B_LOCAL, DELTA_B, jnp.asarray(N_IS))


def jax_fig2cd(taus, num_grid):
    fn = jax.jit(lambda p: s24.optimal_field(p, num_grid=num_grid, throw=False))
    return lambda: fn(_params(taus))


# ------------------------------------------------------------------------------------------
# Monte Carlo.

TAU_MC = 3.0


def _mc_integrand(w):
    return (w[0] ** 2 + w[1] ** 2) * TAU_MC / (1 + (w @ w) * TAU_MC**2)


def numpy_mc(n, chunk=2**18, seed=0):
    rng = np.random.default_rng(seed)
    total, total2, done = 0.0, 0.0, 0
    while done < n:
        m = min(chunk, n - done)
        w = 0.5 * rng.standard_normal((m, 3))
        w[:, 2] += 1.0
        f = (w[:, 0] ** 2 + w[:, 1] ** 2) * TAU_MC / (1 + np.sum(w * w, 1) * TAU_MC**2)
        total += f.sum()
        total2 += (f * f).sum()
        done += m
    mean = total / n
    return mean, math.sqrt((total2 / n - mean**2) / (n - 1))


def run(quick: bool = False) -> list[dict]:
    n_tau, num_grid = 64, 400
    taus = np.geomspace(1e-2, 1e4, n_tau)
    rows = []

    f = jax_fig2cd(taus, num_grid)
    c_jax, t_jax = time_jax(f, repeats=2 if quick else 3)
    res = f()
    t_np = time_python(numpy_fig2cd, taus, num_grid, repeats=1)
    b0_np, bmax_np = numpy_fig2cd(taus, num_grid)
    dev = float(np.max(np.abs(np.asarray(res.field) / b0_np - 1)))
    dev_b = float(np.max(np.abs(np.asarray(res.beta_max) / bmax_np - 1)))
    n_eval = n_tau * num_grid * len(N_IS)
    common = dict(points=f"{n_tau} tau x {num_grid} B x 2 N_I")
    rows.append(
        dict(
            task="Fig. 2(c,d) jaxspin.optimal_field",
            **common,
            compile_s=c_jax,
            run_s=t_jax,
            rate=f"{n_eval / t_jax:.3g} beta/s",
            speedup_vs_numpy=t_np / t_jax,
            target="< 10 s",
            met=bool(t_jax < 10.0),
        )
    )
    rows.append(
        dict(
            task="Fig. 2(c,d) NumPy/SciPy (vectorised per tau)",
            **common,
            compile_s=0.0,
            run_s=t_np,
            rate=f"{n_eval / t_np:.3g} beta/s",
            speedup_vs_numpy=1.0,
            target="",
            met="",
        )
    )

    n_mc = 10**6 if quick else 10**7
    dist = OverhauserField(1.0, 0.0, 0.5)
    key = jax.random.key(0)
    mc = jax.jit(lambda k: overhauser_mc(_mc_integrand, dist, k, n_mc).value)
    c_mc, t_mc = time_jax(mc, key, repeats=2 if quick else 3)
    t_np_mc = time_python(numpy_mc, n_mc, repeats=1)
    rows.append(
        dict(
            task="Monte Carlo (S12) jaxspin.overhauser_mc",
            points=f"{n_mc:.0e} samples",
            compile_s=c_mc,
            run_s=t_mc,
            rate=f"{n_mc / t_mc:.3g} samples/s",
            speedup_vs_numpy=t_np_mc / t_mc,
            target=">= 1e8 /s on GPU" if jax.devices()[0].platform != "cpu" else "GPU only",
            met=bool(n_mc / t_mc >= 1e8) if jax.devices()[0].platform != "cpu" else "n/a (CPU)",
        )
    )
    rows.append(
        dict(
            task="Monte Carlo (S12) NumPy",
            points=f"{n_mc:.0e} samples",
            compile_s=0.0,
            run_s=t_np_mc,
            rate=f"{n_mc / t_np_mc:.3g} samples/s",
            speedup_vs_numpy=1.0,
            target="",
            met="",
        )
    )
    print_table(rows, title=f"[Smirnov24] Fig. 2(c,d) and Monte Carlo — {machine()}")
    print(f"max relative difference jaxspin vs NumPy: B0 {dev:.1e}, beta_max {dev_b:.1e}")
    return rows


def scaling(quick: bool = False) -> dict:
    """Run time of Fig. 2(c,d) (64 τc × 2 N_I) vs the number of grid fields per curve."""
    sizes = [50, 100, 200, 400] + ([] if quick else [800])
    taus = np.geomspace(1e-2, 1e4, 64)
    seconds = []
    for num_grid in sizes:
        _, t = time_jax(jax_fig2cd(taus, num_grid), repeats=2)
        seconds.append(t)
    return dict(
        xlabel="fields per curve (64 tau x 2 N_I curves)",
        sizes=sizes,
        seconds=seconds,
        label="jaxspin.smirnov24.optimal_field",
        title="[Smirnov24] Fig. 2(c,d): cost vs field grid",
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    run(quick=args.quick)
    print(f"total {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
