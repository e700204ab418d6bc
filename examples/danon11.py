"""Figures for [Danon11]: nuclear spin pumping from electron spin susceptibility.

1. ``danon11_pumping_map.png``: double-dot pumping rate over (B_eff, d) from the numerical
   χ and R (Eq. (12) = Eq. (23)), next to the golden rule Eq. (25) and their ratio, for weak
   (t = 0.1 Γ) and strong (t = Γ) tunnelling: the golden rule fails for |d| ≲ Γ and t ≳ Γ.
2. ``danon11_golden_rule_cuts.png``: cuts through the map and the single-dot check
   (Eq. (16) vs the golden rule Eq. (20), which agree everywhere).
3. ``danon11_feedback.png``: polarisation build-up with feedback B_eff = B_ext - A⟨K_z⟩,
   d⟨K_z⟩/dt vs ⟨K_z⟩ with its fixed points, and fixed points vs B_ext with the hysteresis
   of an up-and-down sweep (GaAs-like numbers, nuclear relaxation added).
4. ``danon11_fit.png``: A and Γ recovered from a noisy synthetic build-up curve.

Run: ``python examples/danon11.py --out figures --size small`` or
``jaxspin figures --only danon11``. Each PNG has its data in a ``.npz`` of the same name.
"""

import argparse
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib


matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import TwoSlopeNorm  # noqa: E402

import jaxspin  # noqa: E402
from jaxspin.constants import HBAR, UEV  # noqa: E402
from jaxspin.danon11 import (  # noqa: E402
    DoubleDot,
    SingleDot,
    build_up,
    build_up_curve,
    fit_build_up,
    fixed_points,
    hysteresis,
)


SIZES = {
    "small": dict(map_points=201, fb_points=61, hyst_points=61, fit_points=40),
    "paper": dict(map_points=1000, fb_points=241, hyst_points=241, fit_points=80),
}
TIME_UNIT_S = HBAR / UEV  # the model's time unit hbar/ueV in seconds (0.658 ns)

# GaAs-like double dot for the feedback figures (energies in ueV, rates in ueV/hbar):
# hyperfine A = 90 ueV over N = 1e5 nuclei, detuning 40 ueV, tunnelling 1 ueV, Gamma = 4 ueV,
# and a phenomenological nuclear relaxation (not in Danon11) of about 1/(26 s).
FEEDBACK = dict(detuning=40.0, tunnel=1.0, gamma=4.0, coupling=90.0, num_nuclei=1e5)
GAMMA_N = 2.5e-11


# ---------------------------------------------------------------------------------------
# 1-2: the pumping map and the golden rule
# ---------------------------------------------------------------------------------------
def pumping_map(tunnel: float, b_eff, detuning, *, progress: bool):
    """Exact and golden-rule d⟨K_z⟩/dt at ⟨K_z⟩ = 0 over (B_eff, d), in units of A_n²/Γ
    (Γ = 1, A_n = 1)."""

    def point(b_eff, detuning):
        dd = DoubleDot(detuning, tunnel, 1.0, coupling=1.0, num_nuclei=1.0)
        return {
            "exact": dd.pumping_rate(0.0, b_eff),
            "golden_rule": dd.golden_rule_rate(0.0, b_eff),
        }

    return jaxspin.sweep(
        point,
        {"b_eff": b_eff, "detuning": detuning},
        units={
            "b_eff": "Gamma",
            "detuning": "Gamma",
            "exact": "A_n^2/Gamma",
            "golden_rule": "A_n^2/Gamma",
        },
        progress=progress,
        desc=f"double-dot map t = {tunnel:g} Gamma",
        # The golden rule is infinite at d = 0 (a resonance it cannot describe; the exact
        # rate is finite there): those points are flagged in `status`, not an error.
        throw=False,
    )


def figure_map(out: Path, n: int, progress: bool) -> list[Path]:
    b = np.linspace(-10.0, 10.0, n)
    d = np.linspace(-10.0, 10.0, n)
    tunnels = (0.1, 1.0)
    maps = [pumping_map(t, b, d, progress=progress) for t in tunnels]
    fig, axes = plt.subplots(2, 3, figsize=(14, 8.4), constrained_layout=True)
    extent = (d[0], d[-1], b[0], b[-1])
    data = {"b_eff": b, "detuning": d, "tunnel": np.array(tunnels)}
    for row, (t, m) in enumerate(zip(tunnels, maps, strict=True)):
        exact, fgr = m["exact"], m["golden_rule"]
        data[f"exact_t{row}"], data[f"golden_rule_t{row}"] = exact, fgr
        vmax = np.log10(np.nanmax(exact))
        for col, (z, title) in enumerate(
            ((exact, "exact: susceptibility, Eq. (12)/(23)"), (fgr, "golden rule, Eq. (25)"))
        ):
            ax = axes[row, col]
            with np.errstate(divide="ignore"):
                im = ax.imshow(
                    np.log10(z),
                    origin="lower",
                    extent=extent,
                    aspect="auto",
                    cmap="viridis",
                    vmin=vmax - 6,
                    vmax=vmax,
                )
            ax.set_title(f"{title}\nt = {t:g} Γ")
            fig.colorbar(im, ax=ax, label=r"$\log_{10}\,(d\langle K_z\rangle/dt)$ [$A_n^2/Γ$]")
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.log10(fgr / exact)
        ax = axes[row, 2]
        im = ax.imshow(
            np.clip(ratio, -2, 2),
            origin="lower",
            extent=extent,
            aspect="auto",
            cmap="RdBu_r",
            norm=TwoSlopeNorm(0.0, -2.0, 2.0),
        )
        ax.contour(d, b, np.abs(ratio), levels=[math.log10(1.1)], colors="k", linewidths=0.8)
        ax.set_title(f"golden rule / exact (black: 10 % error)\nt = {t:g} Γ")
        fig.colorbar(im, ax=ax, label=r"$\log_{10}$(FGR / exact)")
        for ax in axes[row]:
            ax.set_xlabel("detuning d [Γ]")
            ax.set_ylabel(r"$B_\mathrm{eff}$ [Γ]")
    fig.suptitle(
        "Danon & Nazarov (2011), Fig. 2 setup: nuclear pumping in the right dot at ⟨K_z⟩ = 0; "
        "the golden rule holds only for |d| ≫ Γ ≫ t"
    )
    return _save(fig, out / "danon11_pumping_map", data)


def figure_cuts(out: Path, progress: bool) -> list[Path]:
    d = np.linspace(-10.0, 10.0, 801)
    b = np.linspace(0.0, 12.0, 801)
    dot_at = lambda t, d: DoubleDot(d, t, 1.0, 1.0, 1.0)  # noqa: E731
    rate = jaxspin.jit(jax.vmap(lambda t, d, b: dot_at(t, d).pumping_rate(0.0, b)))
    fgr = jaxspin.jit(jax.vmap(lambda t, d, b: dot_at(t, d).golden_rule_rate(0.0, b)))
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4), constrained_layout=True)
    data = {"d": d, "b": b}
    for t, color in ((0.1, "C0"), (1.0, "C3")):
        ones = np.ones_like(d)
        ex, gr = rate(t * ones, d, 5.0 * ones), fgr(t * ones, d, 5.0 * ones)
        axes[0].semilogy(d, ex, color=color, label=f"exact, t = {t:g} Γ")
        axes[0].semilogy(d, gr, "--", color=color, label=f"golden rule, t = {t:g} Γ")
        ex_b, gr_b = rate(t * ones, 5.0 * ones, b), fgr(t * ones, 5.0 * ones, b)
        axes[1].semilogy(b, ex_b, color=color, label=f"exact, t = {t:g} Γ")
        axes[1].semilogy(b, gr_b, "--", color=color, label=f"golden rule, t = {t:g} Γ")
        data.update(
            {
                f"vs_d_exact_t{t:g}": ex,
                f"vs_d_fgr_t{t:g}": gr,
                f"vs_b_exact_t{t:g}": ex_b,
                f"vs_b_fgr_t{t:g}": gr_b,
            }
        )
    axes[0].set(
        xlabel="detuning d [Γ]",
        ylabel=r"$d\langle K_z\rangle/dt$ [$A_n^2/Γ$]",
        title=r"double dot, $B_\mathrm{eff}$ = 5 Γ, ⟨K_z⟩ = 0",
    )
    axes[1].set(
        xlabel=r"$B_\mathrm{eff}$ [Γ]",
        ylabel=r"$d\langle K_z\rangle/dt$ [$A_n^2/Γ$]",
        title="double dot, d = 5 Γ, ⟨K_z⟩ = 0",
    )
    # single dot: Eq. (16) from the numerical χ, R vs the golden rule Eq. (20)
    dot = SingleDot(0.3, 1.0, coupling=1.0, num_nuclei=1.0)
    bs = np.linspace(-4.0, 4.0, 401)
    num = jaxspin.jit(jax.vmap(lambda b: dot.pumping_rate(0.0, b)))(bs)
    gold = jaxspin.jit(jax.vmap(lambda b: dot.golden_rule_rate(0.0, b)))(bs)
    axes[2].plot(bs, num, color="k", label="numerical χ, R (Eq. (12))")
    axes[2].plot(bs[::20], gold[::20], "o", color="C1", label="golden rule, Eq. (20)")
    axes[2].set(
        xlabel=r"$B_\mathrm{eff}$ [$Γ_\downarrow$]",
        ylabel=r"$d\langle K_z\rangle/dt$ [$A_n^2/Γ_\downarrow$]",
        title=r"single dot, $Γ_\uparrow$ = 0.3, $Γ_\downarrow$ = 1: FGR exact here",
    )
    data.update({"single_b": bs, "single_numeric": num, "single_fgr": gold})
    for ax in axes:
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(
        "Danon & Nazarov (2011): golden rule (Eq. (20), (25)) vs the susceptibility formalism"
    )
    return _save(fig, out / "danon11_golden_rule_cuts", data)


# ---------------------------------------------------------------------------------------
# 3-4: feedback, fixed points, hysteresis, fit
# ---------------------------------------------------------------------------------------
def feedback_model(**overrides) -> DoubleDot:
    return DoubleDot(**{**FEEDBACK, **overrides}, nuclear_relaxation=GAMMA_N)


def figure_feedback(out: Path, n_b: int, n_hyst: int, progress: bool) -> list[Path]:
    dd = feedback_model()
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6), constrained_layout=True)
    data = {}
    # (a) build-up at several B_ext
    ts_s = np.linspace(0.0, 120.0, 241)
    ts = ts_s / TIME_UNIT_S
    for b_ext, k0, ls in ((50.0, 0.0, "-"), (65.0, 0.0, "-"), (65.0, 0.45, "--"), (85.0, 0.0, "-")):
        k = np.asarray(build_up(dd, b_ext, ts, k0).ys)
        axes[0].plot(ts_s, k, ls, label=f"B_ext = {b_ext:g} μeV, ⟨K_z⟩(0) = {k0:g}")
        data[f"buildup_B{b_ext:g}_k{k0:g}"] = k
    data["buildup_t_s"] = ts_s
    axes[0].set(
        xlabel="time [s]",
        ylabel=r"$\langle K_z\rangle$",
        title="build-up with feedback $B_\\mathrm{eff} = B_\\mathrm{ext} - A\\langle K_z\\rangle$",
    )
    axes[0].legend(fontsize=8)
    # (b) d<K_z>/dt vs <K_z> in the bistable window
    b_mid = 65.0
    ks = np.linspace(-0.5, 0.5, 801)
    rates = jaxspin.jit(jax.vmap(lambda k: dd.polarization_rate(k, b_mid)))
    F = np.asarray(rates(ks)) / TIME_UNIT_S
    fp = fixed_points(dd, b_mid)
    axes[1].plot(ks, F, color="k")
    axes[1].axhline(0.0, color="0.6", lw=0.8)
    for k, st in zip(np.asarray(fp.k_z), np.asarray(fp.stable), strict=True):
        if np.isfinite(k):
            axes[1].plot(k, 0.0, "o", ms=8, mfc="k" if st else "w", mec="k")
    axes[1].set(
        xlabel=r"$\langle K_z\rangle$",
        ylabel=r"$d\langle K_z\rangle/dt$ [1/s]",
        title=f"B_ext = {b_mid:g} μeV: fixed points (filled: stable)",
    )
    data.update({"rate_k": ks, "rate_per_s": F, "fixed_points_mid": np.asarray(fp.k_z)})
    # (c) fixed points vs B_ext and the hysteresis loop
    bs = np.linspace(30.0, 100.0, n_b)
    roots, stable = [], []
    for b in bs:
        f = fixed_points(dd, b)
        roots.append(np.asarray(f.k_z))
        stable.append(np.asarray(f.stable))
    roots, stable = np.array(roots), np.array(stable)
    for j in range(roots.shape[1]):
        axes[2].plot(bs, np.where(stable[:, j], roots[:, j], np.nan), ".", color="k", ms=3)
        axes[2].plot(bs, np.where(~stable[:, j], roots[:, j], np.nan), ".", color="0.65", ms=3)
    h = hysteresis(dd, np.linspace(30.0, 100.0, n_hyst), progress=progress)
    axes[2].plot(h.b_ext, h.up, "-", color="C3", label="sweep up")
    axes[2].plot(h.b_ext, h.down, "-", color="C0", label="sweep down")
    axes[2].plot([], [], ".", color="k", label="stable fixed point")
    axes[2].plot([], [], ".", color="0.65", label="unstable fixed point")
    axes[2].set(
        xlabel=r"$B_\mathrm{ext}$ [μeV]",
        ylabel=r"steady $\langle K_z\rangle$",
        title="bistability and hysteresis",
    )
    axes[2].legend(fontsize=8)
    data.update(
        {
            "fp_b_ext": bs,
            "fp_roots": roots,
            "fp_stable": stable,
            "hyst_b_ext": np.asarray(h.b_ext),
            "hyst_up": np.asarray(h.up),
            "hyst_down": np.asarray(h.down),
        }
    )
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.suptitle(
        "Danon & Nazarov (2011) double dot with nuclear feedback (GaAs-like: A = 90 μeV, "
        "N = 1e5, d = 40 μeV, t = 1 μeV, Γ = 4 μeV; nuclear relaxation 1/(26 s) added)"
    )
    return _save(fig, out / "danon11_feedback", data)


def figure_fit(out: Path, n: int, progress: bool) -> list[Path]:
    truth = feedback_model()
    b_ext = 50.0
    ts_s = np.linspace(0.0, 60.0, n)
    ts = jnp.asarray(ts_s / TIME_UNIT_S)
    clean = build_up_curve(truth, ts, b_ext)
    sigma = 0.004
    noisy = clean + sigma * jax.random.normal(jax.random.PRNGKey(11), clean.shape)
    guess = feedback_model(coupling=70.0, gamma=6.0)
    res = fit_build_up(guess, ts, noisy, b_ext=b_ext, sigma=sigma)
    fitted = build_up_curve(res.params, ts, b_ext)
    fine = np.linspace(0.0, 60.0, 241)
    fitted_fine = build_up_curve(res.params, jnp.asarray(fine / TIME_UNIT_S), b_ext)
    A, dA = float(res.params.coupling), float(res.stderr.coupling)
    G, dG = float(res.params.gamma), float(res.stderr.gamma)
    fig, axes = plt.subplots(
        1, 2, figsize=(11, 4.2), constrained_layout=True, gridspec_kw={"width_ratios": [2, 1]}
    )
    axes[0].errorbar(ts_s, noisy, yerr=sigma, fmt="o", ms=3, color="k", label="synthetic data")
    axes[0].plot(
        fine,
        fitted_fine,
        color="C3",
        label=f"fit: A = {A:.2f} ± {dA:.2f} μeV, Γ = {G:.3f} ± {dG:.3f} μeV",
    )
    axes[0].set(
        xlabel="time [s]",
        ylabel=r"$\langle K_z\rangle$",
        title=f"build-up at B_ext = {b_ext:g} μeV (truth A = 90 μeV, Γ = 4 μeV)",
    )
    axes[0].legend(fontsize=8)
    axes[0].grid(alpha=0.3)
    axes[1].plot(ts_s, (np.asarray(noisy) - np.asarray(fitted)) / sigma, "o", ms=3, color="k")
    axes[1].axhline(0.0, color="C3")
    axes[1].set(
        xlabel="time [s]",
        ylabel="residual / σ",
        title=f"reduced χ² = {float(res.reduced_chi2):.2f}",
    )
    axes[1].grid(alpha=0.3)
    fig.suptitle(
        "Danon & Nazarov (2011): gradient-based fit of A and Γ (jaxspin.fit through "
        "the ODE and the steady-state solves)"
    )
    data = {
        "t_s": ts_s,
        "data": np.asarray(noisy),
        "clean": np.asarray(clean),
        "fitted": np.asarray(fitted),
        "sigma": sigma,
        "A": A,
        "A_err": dA,
        "gamma": G,
        "gamma_err": dG,
        "A_true": 90.0,
        "gamma_true": 4.0,
    }
    return _save(fig, out / "danon11_fit", data)


def _save(fig, stem: Path, data: dict) -> list[Path]:
    png, npz = stem.with_suffix(".png"), stem.with_suffix(".npz")
    fig.savefig(png, dpi=130)
    plt.close(fig)
    np.savez_compressed(npz, **{k: np.asarray(v) for k, v in data.items()})
    return [png, npz]


def make_figures(out_dir: Path, *, size: str = "small", progress: bool = True) -> list[Path]:
    """Write the danon11 figures (PNG + .npz) into ``out_dir``; ``size`` small or paper."""
    if size not in SIZES:
        raise ValueError(f"`size` must be one of {sorted(SIZES)}; got {size!r}.")
    cfg = SIZES[size]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = figure_map(out, cfg["map_points"], progress)
    paths += figure_cuts(out, progress)
    paths += figure_feedback(out, cfg["fb_points"], cfg["hyst_points"], progress)
    paths += figure_fit(out, cfg["fit_points"], progress)
    return paths


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="figures", help="output directory")
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    args = parser.parse_args()
    for p in make_figures(Path(args.out), size=args.size):
        print(p)
