"""[DeLuca16] Figures 2-5: DNP profile, nuclear polarization vs coupling and field with the
spin-temperature predictions, ETH/MBL diagnostics, KL divergence and fluctuations.

``size="small"`` (default): N = 8 electron spins (2^9 eigenstates), 16 realizations per
point, MBL diagnostics for N = 6..12 (the zero-magnetization electron sector only);
minutes on 2 CPU cores. ``size="paper"``: N = 12 (8192 eigenstates), 100 realizations,
MBL diagnostics up to N = 14, as in the paper (hours on a CPU; meant for a GPU).
``size="large"``: beyond the paper, only the two figures that grow: the DNP profile of a
few realizations at N = 14 (2^15 eigenstates; :func:`jaxspin.deluca16.dnp_profile_streamed`,
about 7 GB) next to the N = 8 ensemble mean, and Fig. 4(b) up to N = 16 (one sector of
12870 states); about an hour on 2 CPU cores (the estimate is printed before each
streamed realization).

Parameters: Table I (``jaxspin.deluca16.table1``), D = 0.05 MHz, microwaves at
ω_MW − ω_e = −30 MHz (scaled with B in the field sweep). Every figure has its data in an
``.npz`` next to it. Thread settings and device are written into the figures' notes.

Run: ``python examples/deluca16.py [--out DIR] [--size small|paper|large]`` or
``jaxspin figures --only deluca16``.
"""

import argparse
import math
import os
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib


matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import jaxspin  # noqa: E402
import jaxspin.deluca16 as dl  # noqa: E402
from jaxspin import Progress  # noqa: E402


SIZES = {
    "small": {
        "n_spins": 8,
        "n_real": 16,
        "freq_mhz": np.linspace(-60.0, 60.0, 25),
        "U_mhz": np.array([2.0, 5.0, 10.0, 15.0, 25.0, 35.0, 45.0]),
        "B_tesla": np.array([1.5, 2.5, 3.35, 4.5, 6.0]),
        "D_mhz": np.array([0.005, 0.02, 0.05, 0.2, 0.5, 1.0]),
        "mbl_sizes": [6, 8, 10, 12],
        "mbl_real": 6,
        "fig4a_n": 10,
    },
    "paper": {
        "n_spins": 12,
        "n_real": 100,
        "freq_mhz": np.linspace(-60.0, 60.0, 41),
        "U_mhz": np.array([2.0, 4.0, 6.0, 8.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 45.0]),
        "B_tesla": np.array([1.0, 1.5, 2.0, 2.5, 3.0, 3.35, 4.0, 5.0, 6.0, 7.0]),
        "D_mhz": np.array([0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]),
        "mbl_sizes": [8, 10, 12, 14],
        "mbl_real": 50,
        "fig4a_n": 12,
    },
    "large": {
        "n_spins": 14,
        "n_real": 2,
        "freq_mhz": np.linspace(-60.0, 60.0, 13),
        "compare_n": 8,
        "compare_real": 16,
        "mbl_sizes": [8, 10, 12, 14, 16],
        "mbl_real_by_n": {8: 24, 10: 12, 12: 6, 14: 2, 16: 1},
    },
}
#: Sizes ``jaxspin figures --size`` may ask for.
FIGURE_SIZES = tuple(SIZES)
MW_OFFSET_MHZ = -30.0
KEY = jax.random.PRNGKey(2016)


def _note(cfg) -> str:
    dev = jax.devices()[0]
    threads = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
    return (
        f"N = {cfg['n_spins']}, {cfg['n_real']} realizations; {dev.platform}, "
        f"BLAS threads {threads or 'default'}"
    )


def _save(fig, out_dir: Path, name: str, **data) -> list[Path]:
    png = out_dir / f"deluca16_{name}.png"
    fig.tight_layout()
    fig.savefig(png, dpi=130)
    plt.close(fig)
    npz = out_dir / f"deluca16_{name}.npz"
    np.savez(npz, **data)
    return [png, npz]


def _models(n_spins, n_real, params, key=KEY):
    return dl.random_models(key, n_spins, n_real, params)


def _block(n_spins):
    return 8 if n_spins <= 8 else 2


# --------------------------------------------------------------------------------------
def fig2_profile(out_dir, cfg, progress):
    """P_n vs ω_MW for U = 2 and 15 MHz, exact (disorder average) and tanh(β_s^FM ω_n/2)."""
    n, R = cfg["n_spins"], cfg["n_real"]
    freq = cfg["freq_mhz"]
    res = {}
    with Progress(2, "deluca16 Fig. 2 (DNP profile)", "couplings", enabled=progress) as bar:
        for u in (2.0, 15.0):
            par = dl.table1(U_mhz=u)
            prof = dl.dnp_profile(
                _models(n, R, par), par.omega_e + dl.mhz(freq), block_size=_block(n)
            )
            pn = np.asarray(prof.nuclear_polarization)  # (R, F)
            fm = [
                dl.fit_spin_temperature(prof.at(i), par.omega_e, throw=False)
                for i in range(len(freq))
            ]
            pn_fm = np.array([float(f.nuclear_polarization(par.omega_n)) for f in fm])
            res[u] = (pn.mean(0), pn.std(0), pn_fm)
            bar.update(1)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ghz = 93.9 + freq * 1e-3
    for u, c in ((2.0, "tab:red"), (15.0, "tab:blue")):
        mean, std, pfm = res[u]
        ax.errorbar(
            ghz,
            mean,
            yerr=std / math.sqrt(R),
            fmt="o",
            ms=4,
            color=c,
            label=f"U = {u:g} MHz, exact",
        )
        ax.plot(ghz, pfm, "--", color=c, label=f"U = {u:g} MHz, tanh(β_s ω_n/2), β_s from FM")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("microwave frequency ω_MW/2π [GHz]")
    ax.set_ylabel("nuclear polarization P_n")
    ax.set_title("[DeLuca16] Fig. 2: DNP profile\n" + _note(cfg), fontsize=10)
    ax.legend(fontsize=8)
    return _save(
        fig,
        out_dir,
        "fig2_profile",
        omega_mw_ghz=ghz,
        **{
            f"U{u:g}_{k}": v
            for u in res
            for k, v in zip(("mean", "std", "fm"), res[u], strict=True)
        },
    )


def _point_kernel(n_spins, U_mhz, B_tesla, seed):
    """One realization at (U, B): stationary P_n, p, energies, M (for the sweep layer)."""
    par = dl.table1(U_mhz=U_mhz, B_tesla=B_tesla, mw_offset_mhz=MW_OFFSET_MHZ * B_tesla / 3.35)
    model = dl.random_model(jax.random.fold_in(KEY, seed), n_spins, par)
    st = dl.steady_state(model, throw=False)
    return {
        "P_n": st.nuclear_polarization,
        "p": st.p,
        "energies": st.energies,
        "magnetization": st.magnetization,
        "P_e": st.electron_polarization,
    }


def _sweep(n_spins, name, values, fixed, R, progress):
    grid = {name: np.asarray(values, float), "seed": np.arange(R)}

    def fn(**kw):
        args = {**fixed, **kw}
        return _point_kernel(n_spins, args["U_mhz"], args["B_tesla"], args["seed"])

    return jaxspin.sweep(
        fn, grid, block_size=_block(n_spins), progress=progress, desc=f"deluca16 P_n vs {name}"
    )


def _predictions(res, name, values, fixed):
    """FM (Eq. (18)) and PE (Eqs. (20)-(23), (22)) at every grid value."""
    out = {k: [] for k in ("fm", "kl", "pe2", "pe0", "borghini")}
    for i, v in enumerate(values):
        args = {**fixed, name: float(v)}
        par = dl.table1(
            U_mhz=args["U_mhz"],
            B_tesla=args["B_tesla"],
            mw_offset_mhz=MW_OFFSET_MHZ * args["B_tesla"] / 3.35,
        )
        st = dl.ProfilePoint(
            jnp.asarray(res["p"][i]),
            jnp.asarray(res["energies"][i]),
            jnp.asarray(res["magnetization"][i]),
        )
        fm = dl.fit_spin_temperature(st, par.omega_e, throw=False)
        out["fm"].append(
            float(fm.nuclear_polarization(par.omega_n)) if bool(fm.converged) else np.nan
        )
        out["kl"].append(np.asarray(dl.kl_divergence(st, fm)))
        for key, kw in (
            ("pe2", {"order": 2}),
            ("pe0", {"order": 0}),
            ("borghini", {"order": 0, "line": "borghini"}),
        ):
            pe = dl.perturbative_spin_temperature(par, throw=False, **kw)
            out[key].append(
                float(pe.nuclear_polarization(par.omega_n)) if bool(pe.converged) else np.nan
            )
    return {k: np.asarray(v) for k, v in out.items()}


def fig3_and_5(out_dir, cfg, progress):
    """P_n vs U (B = 3.35 T) and vs B (U = 15 MHz): exact, FM, PE (Fig. 3); KL and
    sample-to-sample fluctuations vs U (Fig. 5)."""
    n, R = cfg["n_spins"], cfg["n_real"]
    paths = []
    vs_u = _sweep(n, "U_mhz", cfg["U_mhz"], {"B_tesla": 3.35}, R, progress)
    pred_u = _predictions(vs_u, "U_mhz", cfg["U_mhz"], {"B_tesla": 3.35})
    vs_b = _sweep(n, "B_tesla", cfg["B_tesla"], {"U_mhz": 15.0}, R, progress)
    pred_b = _predictions(vs_b, "B_tesla", cfg["B_tesla"], {"U_mhz": 15.0})

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    for ax, res, pred, x, xl in (
        (axes[0], vs_u, pred_u, cfg["U_mhz"], "dipolar coupling U [MHz]   (B = 3.35 T)"),
        (axes[1], vs_b, pred_b, cfg["B_tesla"], "magnetic field B [T]   (U = 15 MHz)"),
    ):
        pn = res["P_n"]
        ax.errorbar(
            x, pn.mean(1), yerr=pn.std(1), fmt="o", color="tab:red", label="exact (mean ± std)"
        )
        ax.plot(x, pred["fm"], "^--", color="tab:blue", label="tanh(β_s ω_n/2), β_s from FM (18)")
        ax.plot(x, pred["pe2"], "k--", label="PE to O(U²), Eqs. (23)-(25)")
        ax.plot(x, pred["pe0"], "k:", label="PE at U → 0, Eq. (20)")
        ax.plot(x, pred["borghini"], color="0.6", lw=1, label="Borghini δ line, Eq. (22)")
        ax.set_xlabel(xl)
        ax.set_ylabel("nuclear polarization P_n")
        ax.set_ylim(-0.1, 0.7)
        ax.legend(fontsize=7)
    fig.suptitle("[DeLuca16] Fig. 3: breakdown of the spin temperature\n" + _note(cfg), fontsize=10)
    paths += _save(
        fig,
        out_dir,
        "fig3_polarization",
        U_mhz=cfg["U_mhz"],
        Pn_vs_U=vs_u["P_n"],
        B_tesla=cfg["B_tesla"],
        Pn_vs_B=vs_b["P_n"],
        **{f"vsU_{k}": v for k, v in pred_u.items()},
        **{f"vsB_{k}": v for k, v in pred_b.items()},
    )

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    x = cfg["U_mhz"]
    axes[0].errorbar(x, pred_u["kl"].mean(1), yerr=pred_u["kl"].std(1) / math.sqrt(R), fmt="o-")
    axes[0].set_xlabel("dipolar coupling U [MHz]")
    axes[0].set_ylabel("mean KL divergence D_KL, Eq. (27) [nats]")
    axes[0].set_title("(a) stationary state vs spin-temperature ansatz", fontsize=10)
    axes[1].plot(x, vs_u["P_n"].std(1), "s-", color="tab:purple")
    axes[1].set_xlabel("dipolar coupling U [MHz]")
    axes[1].set_ylabel("sample-to-sample std of P_n")
    axes[1].set_title("(b) fluctuations of the nuclear polarization", fontsize=10)
    for ax in axes:
        ax.set_yscale("log")
    fig.suptitle("[DeLuca16] Fig. 5 (B = 3.35 T)\n" + _note(cfg), fontsize=10)
    paths += _save(fig, out_dir, "fig5_kl_fluctuations", U_mhz=x, kl=pred_u["kl"], Pn=vs_u["P_n"])

    # stationary electron polarizations per spin vs the two spin-temperature predictions
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    delta = np.asarray(dl.equally_spaced_offsets(n, dl.mhz(54.0))) / (2 * math.pi)
    fine = np.linspace(-54.0, 54.0, 200)
    for u, c in ((2.0, "tab:red"), (15.0, "tab:blue")):
        i = int(np.argmin(np.abs(cfg["U_mhz"] - u)))
        pe = vs_u["P_e"][i]
        ax.errorbar(
            delta, pe.mean(0), yerr=pe.std(0), fmt="o", color=c, label=f"U = {u:g} MHz, stationary"
        )
        par = dl.table1(U_mhz=u)
        st = dl.ProfilePoint(
            jnp.asarray(vs_u["p"][i]),
            jnp.asarray(vs_u["energies"][i]),
            jnp.asarray(vs_u["magnetization"][i]),
        )
        fm = dl.fit_spin_temperature(st, par.omega_e, throw=False)
        ax.plot(
            fine,
            np.asarray(fm.electron_polarization(dl.mhz(fine))),
            "--",
            color=c,
            label=f"U = {u:g} MHz, ansatz (FM)",
        )
    ax.axvline(MW_OFFSET_MHZ, color="k", lw=0.5, ls=":")
    ax.set_xlabel("Zeeman offset Δ_i/2π [MHz]   (dotted: microwave)")
    ax.set_ylabel("electron polarization P_i = 2<S^z_i>")
    ax.set_title(
        "[DeLuca16] electron polarizations in the stationary state\n" + _note(cfg), fontsize=10
    )
    ax.legend(fontsize=8)
    paths += _save(
        fig, out_dir, "electron_polarizations", delta_mhz=delta, P_e=vs_u["P_e"], U_mhz=cfg["U_mhz"]
    )
    return paths


def large_fig2_profile(out_dir, cfg, progress):
    """DNP profile at N = 14, one streamed realization at a time, next to the N = 8 mean."""
    n, R, freq = cfg["n_spins"], cfg["n_real"], cfg["freq_mhz"]
    par = dl.table1(U_mhz=15.0)
    w = par.omega_e + dl.mhz(freq)
    small = dl.dnp_profile(_models(cfg["compare_n"], cfg["compare_real"], par), w, block_size=8)
    small_pn = np.asarray(small.nuclear_polarization)
    runs = []
    for r in range(R):
        model = dl.random_model(jax.random.fold_in(KEY, 1400 + r), n, par)
        runs.append(dl.dnp_profile_streamed(model, w, progress=progress))
    pn = np.stack([np.asarray(run.result.nuclear_polarization) for run in runs])
    fig, ax = plt.subplots(figsize=(6.8, 4.6))
    ghz = 93.9 + freq * 1e-3
    m, s = small_pn.mean(0), small_pn.std(0) / math.sqrt(small_pn.shape[0])
    ax.fill_between(ghz, m - s, m + s, color="0.8")
    ax.plot(ghz, m, "-", color="0.4", label=f"N = {cfg['compare_n']}, mean of {small_pn.shape[0]}")
    for r in range(R):
        ax.plot(ghz, pn[r], "o-", ms=4, label=f"N = {n}, realization {r + 1}")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("microwave frequency ω_MW/2π [GHz]")
    ax.set_ylabel("nuclear polarization P_n")
    secs = [sum(run.seconds.values()) for run in runs]
    peak = max(run.peak_rss_bytes for run in runs) / 1e9
    ax.set_title(
        f"[DeLuca16] Fig. 2 beyond the paper: N = {n} ({2 ** (n + 1)} eigenstates), U = 15 MHz\n"
        f"streamed, {np.mean(secs):.0f} s per realization, peak RSS {peak:.1f} GB; "
        f"{jax.devices()[0].platform}",
        fontsize=9,
    )
    ax.legend(fontsize=8)
    return _save(
        fig,
        out_dir,
        "large_fig2_profile",
        omega_mw_ghz=ghz,
        Pn=pn,
        Pn_small=small_pn,
        seconds=np.asarray(secs),
    )


def large_fig4_mbl(out_dir, cfg, progress):
    """Fig. 4(b) to N = 16: realizations per size from ``mbl_real_by_n``."""
    couplings = (2.0, 15.0, 45.0)
    sizes = cfg["mbl_sizes"]
    reals = cfg["mbl_real_by_n"]
    jumps = np.zeros((len(couplings), len(sizes)))
    with Progress(
        len(sizes) * len(couplings), "deluca16 Fig. 4 to N = 16", "points", enabled=progress
    ) as bar:
        for j, n in enumerate(sizes):
            for i, u in enumerate(couplings):
                models = _models(n, reals[n], dl.table1(U_mhz=u), jax.random.fold_in(KEY, n))
                jumps[i, j] = float(np.mean(dl.level_polarization_jumps(models, site=None)))
                bar.update(1, f"N = {n}, U = {u:g} MHz")
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for i, u in enumerate(couplings):
        ax.semilogy(sizes, jumps[i], "o-", label=f"U = {u:g} MHz")
    ax.set_xlabel("number of electron spins N")
    ax.set_ylabel("mean |δM_n| (all spins, M = 0 eigenstates)")
    counts = ", ".join(f"{reals[n]}" for n in sizes)
    ax.set_title(
        f"[DeLuca16] Fig. 4(b) to N = {sizes[-1]} (Δω_e = 54 MHz)\nrealizations per N: {counts}",
        fontsize=10,
    )
    ax.legend(fontsize=8)
    return _save(
        fig, out_dir, "large_fig4_mbl", sizes=np.asarray(sizes), jumps=jumps,
        couplings=np.asarray(couplings), realizations=np.asarray([reals[n] for n in sizes]),
    )  # fmt: skip


def fig4_mbl(out_dir, cfg, progress):
    """<n|S^z_1|n> over zero-magnetization eigenstates; mean |δM_n| vs N."""
    couplings = (2.0, 15.0, 45.0)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    n4 = cfg["fig4a_n"]
    data = {}
    for u, c in zip(couplings, ("tab:blue", "tab:red", "tab:green"), strict=True):
        model = dl.random_model(KEY, n4, dl.table1(U_mhz=u))
        e, sz = dl.eigenstate_polarizations(model, site=0)
        axes[0].plot(np.arange(len(sz)), sz, ".", ms=2, color=c, label=f"U = {u:g} MHz")
        data[f"sz_U{u:g}"] = np.asarray(sz)
    axes[0].set_xlabel(f"eigenstate n (M = 0, N = {n4}, ascending energy)")
    axes[0].set_ylabel("<n|S^z_1|n>")
    axes[0].set_title("(a) local polarization in eigenstates", fontsize=10)
    axes[0].legend(fontsize=8, markerscale=4)
    sizes = cfg["mbl_sizes"]
    jumps = np.zeros((len(couplings), len(sizes)))
    with Progress(len(sizes), "deluca16 Fig. 4 (MBL)", "sizes", enabled=progress) as bar:
        for j, n in enumerate(sizes):
            for i, u in enumerate(couplings):
                models = _models(n, cfg["mbl_real"], dl.table1(U_mhz=u), jax.random.fold_in(KEY, n))
                jumps[i, j] = float(
                    np.mean(dl.level_polarization_jumps(models, site=None, block_size=2))
                )
            bar.update(1)
    for i, u in enumerate(couplings):
        axes[1].semilogy(sizes, jumps[i], "o-", label=f"U = {u:g} MHz")
    axes[1].set_xlabel("number of electron spins N")
    axes[1].set_ylabel("mean |δM_n| (all spins, M = 0 eigenstates)")
    axes[1].set_title(
        f"(b) consecutive-eigenstate jumps, {cfg['mbl_real']} realizations", fontsize=10
    )
    axes[1].legend(fontsize=8)
    fig.suptitle("[DeLuca16] Fig. 4: ETH vs many-body localization (Δω_e = 54 MHz)", fontsize=10)
    return _save(
        fig,
        out_dir,
        "fig4_mbl",
        sizes=np.asarray(sizes),
        jumps=jumps,
        couplings=np.asarray(couplings),
        **data,
    )


def fig_d_dependence(out_dir, cfg, progress):
    """P_n vs the (unpublished) hyperfine scale D, same realizations."""
    n, R = cfg["n_spins"], min(cfg["n_real"], 8)
    Ds = cfg["D_mhz"]
    par = dl.table1(U_mhz=15.0)
    base = _models(n, R, par)
    pn = []
    with Progress(len(Ds), "deluca16 P_n vs D", "values", enabled=progress) as bar:
        for d in Ds:
            scale = d / dl.DEFAULT_D_MHZ
            m = dl.DeLucaModel(base.delta, base.U, base.D * scale, base.params)
            pn.append(np.asarray(dl.steady_state(m, block_size=_block(n)).nuclear_polarization))
            bar.update(1)
    pn = np.asarray(pn)  # (D, R)
    fig, ax = plt.subplots(figsize=(6, 4))
    for r in range(R):
        ax.semilogx(Ds, pn[:, r], "-", color="0.7", lw=0.8)
    ax.semilogx(Ds, pn.mean(1), "o-", color="k", label=f"mean of {R} realizations")
    ax.axvline(dl.DEFAULT_D_MHZ, color="tab:blue", ls=":", label="default D = 0.05 MHz")
    ax.set_xlabel("hyperfine scale D [MHz] (D_i has variance D²/N)")
    ax.set_ylabel("nuclear polarization P_n")
    ax.set_title(
        "[DeLuca16] dependence on the hyperfine coupling (U = 15 MHz)\n" + _note(cfg), fontsize=10
    )
    ax.legend(fontsize=8)
    return _save(fig, out_dir, "D_dependence", D_mhz=Ds, Pn=pn)


def make_figures(out_dir: Path, *, size: str = "small", progress: bool = True) -> list[Path]:
    """Write ``deluca16_*.png`` (and ``.npz`` data) for Figs. 2-5 into ``out_dir``
    (``size="large"``: ``deluca16_large_*``, Figs. 2 and 4 beyond the paper's sizes)."""
    if size not in SIZES:
        raise ValueError(f"`size` must be one of {sorted(SIZES)}; got {size!r}.")
    cfg = SIZES[size]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if size == "large":
        return large_fig2_profile(out_dir, cfg, progress) + large_fig4_mbl(out_dir, cfg, progress)
    paths = []
    paths += fig2_profile(out_dir, cfg, progress)
    paths += fig3_and_5(out_dir, cfg, progress)
    paths += fig4_mbl(out_dir, cfg, progress)
    paths += fig_d_dependence(out_dir, cfg, progress)
    return paths


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="figures")
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    args = parser.parse_args()
    for p in make_figures(Path(args.out), size=args.size):
        print(p)
