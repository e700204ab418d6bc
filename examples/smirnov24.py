"""Figures of [Smirnov24] (Smirnov & Kavokin, "Cooling and heating nuclear spins by strongly
localized electrons"): Fig. 2(a)-(d), Fig. 3, Fig. S1, plus T1e^N and its limits, a Monte
Carlo check of the Overhauser averages, and a fit to synthetic data.

    python examples/smirnov24.py --out figures --size small
    jaxspin figures --only smirnov24

Each PNG comes with a ``.npz`` of the data drawn. Units as in the paper: times in
``T2e*``, fields in ``B̃_L = √3 B_L`` (Fig. 2, S1) or ``B_L`` (Fig. 3), ``Δ_B = 100 B̃_L``.
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

from jaxspin import (  # noqa: E402
    OverhauserField,
    Progress,
    TanhSinh,
    overhauser_mc,
    overhauser_radial,
    smirnov24 as s24,
)


KEY = "smirnov24"
SIZES = {
    # tau points for Fig. 2(c,d), grid fields per tau, tau points for the exact Fig. S1 dots
    "small": {"n_tau": 48, "num_grid": 64, "n_tau_exact": 6, "n_field": 301, "mc": 200_000},
    "paper": {"n_tau": 200, "num_grid": 400, "n_tau_exact": 24, "n_field": 1001, "mc": 4_000_000},
}
N_IS = (1e6, 1e4)
COLORS = {1e6: "tab:red", 1e4: "tab:blue"}


def _save(fig, out_dir: Path, name: str, **data) -> list[Path]:
    png = out_dir / f"{KEY}_{name}.png"
    fig.tight_layout()
    fig.savefig(png, dpi=140)
    plt.close(fig)
    npz = out_dir / f"{KEY}_{name}.npz"
    np.savez(npz, **{k: np.asarray(v) for k, v in data.items()})
    return [png, npz]


def fig2ab(out_dir: Path, cfg) -> list[Path]:
    b = jnp.linspace(0.0, 30.0, cfg["n_field"])
    taus = (0.0, 3.0, 10.0)
    styles = (("k", "-", r"$\tau_c\to0$"), ("tab:red", "--", r"$\tau_c=3T_{2,e}^*$"))
    styles += (("tab:blue", ":", r"$\tau_c=10T_{2,e}^*$"),)
    p = s24.Parameters.paper(jnp.asarray(taus)[:, None], n_i=1e6)
    pol = s24.nuclear_polarization(p, b)
    beta = s24.inverse_spin_temperature(p, b) / s24.beta0(p)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for i, (c, ls, lab) in enumerate(styles):
        axes[0].plot(b, pol[i], color=c, ls=ls, label=lab)
        axes[1].plot(b, beta[i], color=c, ls=ls, label=lab)
    axes[0].set_ylabel(r"$\langle I_z\rangle / I_0$")
    axes[1].set_ylabel(r"$\beta/\beta_0$")
    for ax, t in zip(
        axes, ("(a) nuclear spin polarization", "(b) inverse spin temperature"), strict=True
    ):
        ax.set_xlabel(r"$B/\tilde B_L$")
        ax.set_title(t)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(r"Smirnov & Kavokin, Fig. 2(a,b): $N_I=10^6$, $\Delta_B=100\tilde B_L$")
    return _save(
        fig,
        out_dir,
        "fig2ab",
        field=b,
        tau_c=np.asarray(taus),
        polarization=pol,
        beta_over_beta0=beta,
    )


def _optimum_curves(taus, num_grid, phi=None):
    p = s24.Parameters.paper(jnp.asarray(taus)[:, None], n_i=jnp.asarray(N_IS))
    # the exact rotation is a 2-D average: level-3 rules are accurate to ~1e-10 here
    kw = {} if phi is None else {"phi": phi, "rule": TanhSinh(level=3)}
    res = s24.optimal_field(p, num_grid=num_grid, throw=False, **kw)
    return np.asarray(res.field), np.asarray(res.beta_max / s24.beta0(p)), res


def fig2cd(out_dir: Path, cfg) -> list[Path]:
    taus = np.geomspace(1e-2, 1e4, cfg["n_tau"])
    b0, bmax, res = _optimum_curves(taus, cfg["num_grid"])
    p_inf = s24.Parameters.paper(jnp.asarray(taus))
    eq10 = np.asarray(s24.optimal_field_long(p_inf))
    sat = float(s24.optimal_field_small_n(s24.Parameters.paper(1.0, n_i=1e4)))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for j, n_i in enumerate(N_IS):
        lab = rf"$N_I=10^{{{int(math.log10(n_i))}}}$"
        axes[0].loglog(taus, b0[:, j], color=COLORS[n_i], label=lab)
        axes[1].loglog(taus, bmax[:, j], color=COLORS[n_i], label=lab)
    long = taus >= 1.0  # Eq. (10) is the long-τc asymptote
    axes[0].loglog(taus[long], eq10[long], "k--", lw=1, label="Eq. (10)")
    axes[0].axhline(sat, color="tab:blue", ls=":", lw=1, label=r"$\sqrt{2N_I/5}\,\tilde B_L$")
    axes[0].axhline(100.0, color="0.5", ls="-.", lw=0.8, label=r"$\Delta_B=1/(\gamma_eT_{2,e}^*)$")
    axes[0].set_ylim(0.5, 300)
    axes[0].set_ylabel(r"$B_0/\tilde B_L$")
    axes[1].set_ylabel(r"$\beta_{\max}/\beta_0$")
    for ax, t in zip(
        axes, ("(c) optimal field", "(d) maximal inverse spin temperature"), strict=True
    ):
        ax.set_xlabel(r"$\tau_c/T_{2,e}^*$")
        ax.set_title(t)
        ax.grid(alpha=0.3, which="both")
        ax.legend()
    fig.suptitle(r"Smirnov & Kavokin, Fig. 2(c,d): $\Delta_B=100\tilde B_L$")
    return _save(
        fig,
        out_dir,
        "fig2cd",
        tau_c=taus,
        n_i=np.asarray(N_IS),
        b0=b0,
        beta_max_over_beta0=bmax,
        eq10=eq10,
        small_n_saturation=sat,
        result=np.asarray(res.result._value),
    )


def fig3(out_dir: Path, cfg) -> list[Path]:
    b = jnp.geomspace(1e-2, 1e4, cfg["n_field"])  # units of B_L
    taus = (0.0, 10.0, 100.0)
    p = s24.Parameters(jnp.asarray(taus)[:, None], b_local=1.0, delta_b=100 * math.sqrt(3), n_i=1e6)
    rate = s24.heating_rate(p, b)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    styles = (
        ("k", "-", r"$\tau_c\to0$"),
        ("tab:red", "--", r"$\tau_c=10T_{2,e}^*$"),
        ("tab:blue", ":", r"$\tau_c=100T_{2,e}^*$"),
    )
    for i, (c, ls, lab) in enumerate(styles):
        ax.loglog(b, rate[i], color=c, ls=ls, label=lab)
    ax.set_xlabel(r"$B/B_L$")
    ax.set_ylabel(r"$T_0/T_{\mathcal{E}}$")
    ax.set_title(
        "Smirnov & Kavokin, Fig. 3: heating rate in the dark, Eq. (13)\n"
        r"$T_0^{-1}=f\tau_c/(2N_IT_{2,e}^{*2})$, $N_I=10^6$, $\Delta_B=100\tilde B_L$"
    )
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return _save(
        fig, out_dir, "fig3", field_over_b_local=b, tau_c=np.asarray(taus), t0_over_te=rate
    )


def figs1(out_dir: Path, cfg) -> list[Path]:
    taus = np.geomspace(1e-1, 3e3, 60)
    taus_x = np.geomspace(1e-1, 3e3, cfg["n_tau_exact"])
    b0, bmax, _ = _optimum_curves(taus, cfg["num_grid"])
    b0x, bmaxx, resx = _optimum_curves(taus_x, 32, s24.PhiExact())
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for j, n_i in enumerate(N_IS):
        lab = rf"$N_I=10^{{{int(math.log10(n_i))}}}$"
        axes[0].loglog(taus, b0[:, j], color=COLORS[n_i], label=lab + ", Eq. (S38)")
        axes[0].loglog(
            taus_x, b0x[:, j], "o", color=COLORS[n_i], ms=5, label=lab + ", exact (S34)+(S39)"
        )
        axes[1].loglog(taus, bmax[:, j], color=COLORS[n_i])
        axes[1].loglog(taus_x, bmaxx[:, j], "o", color=COLORS[n_i], ms=5)
    axes[0].set_ylabel(r"$B_0/\tilde B_L$")
    axes[1].set_ylabel(r"$\beta_{\max}/\beta_0$")
    for ax, t in zip(axes, ("(a) optimal field", r"(b) $\beta_{\max}$"), strict=True):
        ax.set_xlabel(r"$\tau_c/T_{2,e}^*$")
        ax.set_title(t)
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=8)
    fig.suptitle("Smirnov & Kavokin, Fig. S1: simplified Φ (S38) vs exact box-model rotation")
    return _save(
        fig,
        out_dir,
        "figS1",
        tau_c=taus,
        b0=b0,
        beta_max_over_beta0=bmax,
        tau_c_exact=taus_x,
        b0_exact=b0x,
        beta_max_over_beta0_exact=bmaxx,
        result_exact=np.asarray(resx.result._value),
    )


def fig_t1(out_dir: Path, cfg) -> list[Path]:
    taus = jnp.geomspace(1e-2, 1e3, 121)
    p = s24.Parameters(taus, delta_b=1.0)
    t1 = s24.electron_relaxation_time(p, 0.0)
    short = s24.electron_relaxation_time_short(p, 0.0)
    tau_min, t1_min, _ = s24.nuclear_relaxation_minimum(s24.Parameters(1.0))
    b = jnp.linspace(0.0, 6.0, 121)  # Ω_B T2e*
    pl = s24.Parameters(1.0, delta_b=1.0)
    rate_exact = 1.0 / s24.electron_relaxation_time_long(pl, b)
    rate_lor = 1.0 / s24.electron_relaxation_time_lorentzian(pl, b)
    rate_mid = 1.0 / s24.electron_relaxation_time(s24.Parameters(3.0, delta_b=1.0), b) * 3.0
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    ax = axes[0]
    ax.loglog(taus, t1, "k", label="Eq. (S12), $B=0$")
    ax.loglog(taus, short, "tab:orange", ls="--", label="(S13) short $\\tau_c$")
    ax.loglog(taus, 1.5 * taus, "tab:green", ls=":", label=r"(S15) $3\tau_c/2$")
    ax.plot(
        [tau_min],
        [t1_min],
        "o",
        color="tab:purple",
        label=rf"min $T_{{1,N}}^e$: {float(t1_min):.2f} at $\tau_c={float(tau_min):.2f}$",
    )
    ax.set_xlabel(r"$\tau_c/T_{2,e}^*$")
    ax.set_ylabel(r"$T_{1,e}^N/T_{2,e}^*$  (= $T_{1,N}^e f/(N_IT_{2,e}^*)$)")
    ax.set_title("(a) electron spin relaxation by nuclei")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    ax = axes[1]
    ax.plot(b, rate_exact, "k", label=r"(S15): $\langle\Omega_\perp^2/\Omega_e^2\rangle$")
    ax.plot(b, rate_lor, "tab:red", ls="--", label="(S16) Lorentzian")
    ax.plot(b, rate_mid, "tab:blue", ls=":", label=r"(S12) at $\tau_c=3T_{2,e}^*$")
    ax.set_xlabel(r"$\Omega_B T_{2,e}^*$")
    ax.set_ylabel(r"$\tau_c/T_{1,e}^N$")
    ax.set_title("(b) field dependence")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.suptitle("Smirnov & Kavokin, Eqs. (S12)-(S16) and Sec. S2")
    return _save(
        fig,
        out_dir,
        "t1",
        tau_c=taus,
        t1=t1,
        t1_short=short,
        tau_min=tau_min,
        t1_min=t1_min,
        omega_b=b,
        rate_s15=rate_exact,
        rate_s16=rate_lor,
    )


def fig_mc(out_dir: Path, cfg) -> list[Path]:
    """Monte Carlo vs quadrature for the (S12) average at τc = 3 T2e*."""
    tau = 3.0
    omega_b = jnp.linspace(0.0, 4.0, 17)
    dist = OverhauserField.from_t2star(1.0, omega_b=omega_b)
    g = lambda r, mu, sin2: r**2 * sin2 * tau / (1 + (r * tau) ** 2)
    quad = overhauser_radial(g, dist, breakpoints=(1 / tau,))
    f = lambda w: (w[0] ** 2 + w[1] ** 2) * tau / (1 + (w @ w) * tau**2)
    mc = overhauser_mc(f, dist, jax.random.key(0), cfg["mc"])
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.plot(omega_b, quad.value, "k", label="radial quadrature")
    ax.errorbar(
        omega_b,
        mc.value,
        yerr=3 * mc.stderr,
        fmt="o",
        ms=3,
        color="tab:red",
        label=f"Monte Carlo, {cfg['mc']:.0e} samples (±3 s.e.)",
    )
    ax.set_xlabel(r"$\Omega_B T_{2,e}^*$")
    ax.set_ylabel(r"$T_{2,e}^*/T_{1,e}^N$")
    ax.set_title(r"Eq. (S12) at $\tau_c=3T_{2,e}^*$: two independent averages over (S23)")
    ax.legend()
    ax.grid(alpha=0.3)
    return _save(
        fig,
        out_dir,
        "overhauser_mc",
        omega_b=omega_b,
        quad=quad.value,
        quad_error=quad.error,
        mc=mc.value,
        mc_stderr=mc.stderr,
    )


def fig_fit(out_dir: Path, cfg) -> list[Path]:
    truth = s24.Parameters(3.0, b_local=1.0, delta_b=8.0, n_i=1e5, s_z=0.25)
    b = jnp.geomspace(0.3, 300.0, 48)
    noise = 1e-3
    y = s24.polarization_model(truth, b) + noise * np.random.default_rng(0).normal(size=b.shape)
    start = s24.Parameters(1.0, b_local=0.5, delta_b=8.0, n_i=1e5, s_z=0.2)
    res = s24.fit_polarization(b, y, start, sigma=noise)
    bb = jnp.geomspace(0.3, 300.0, 400)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ax.errorbar(b, y, yerr=noise, fmt="o", ms=3, color="k", label="synthetic data")
    ax.semilogx(bb, s24.polarization_model(res.params, bb), "tab:red", label="fit")
    ax.semilogx(bb, s24.polarization_model(truth, bb), "tab:blue", ls=":", label="truth")
    lines = []
    for name, lab in (
        ("tau_c", r"\tau_c/T_{2,e}^*"),
        ("b_local", "B_L"),
        ("s_z", r"\langle S_z\rangle"),
    ):
        v, e = float(getattr(res.params, name)), float(getattr(res.stderr, name))
        t = float(getattr(truth, name))
        lines.append(rf"${lab}={v:.3g}\pm{e:.2g}$ (true {t:g})")
    ax.text(
        0.35,
        0.08,
        "\n".join(lines),
        transform=ax.transAxes,
        fontsize=9,
        bbox={"facecolor": "white", "alpha": 0.8},
    )
    ax.set_xlabel(r"$B/B_L$ ($\Delta_B=8B_L$, $N_I=10^5$)")
    ax.set_ylabel(r"$3\langle I_z\rangle/(4I(I+1))$")
    ax.set_title("Fit of Eqs. (1),(6) to noisy polarization data (Hessian error bars)")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3, which="both")
    names = ("tau_c", "b_local", "s_z")
    return _save(
        fig,
        out_dir,
        "fit",
        field=b,
        data=y,
        noise=noise,
        fitted=np.array([float(getattr(res.params, n)) for n in names]),
        stderr=np.array([float(getattr(res.stderr, n)) for n in names]),
        truth=np.array([float(getattr(truth, n)) for n in names]),
    )


FIGURES = (fig2ab, fig2cd, fig3, figs1, fig_t1, fig_mc, fig_fit)


def make_figures(out_dir: Path, *, size: str = "small", progress: bool = True) -> list[Path]:
    """Write the figures of [Smirnov24] (PNG + NPZ) into ``out_dir``; returns the paths."""
    if size not in SIZES:
        raise ValueError(f"`size` must be one of {sorted(SIZES)}; got {size!r}.")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = SIZES[size]
    paths: list[Path] = []
    with Progress(len(FIGURES), desc=f"{KEY} figures", unit="figures", enabled=progress) as bar:
        for make in FIGURES:
            paths += make(out_dir, cfg)
            bar.update(1, postfix=make.__name__)
    return paths


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="figures", help="output directory")
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    args = parser.parse_args()
    for path in make_figures(Path(args.out), size=args.size):
        print(path)
