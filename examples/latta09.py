"""Figures in the character of [Latta09] Figs. S1, S2, S4, the fluctuation suppression at
locking, a (detuning × Ω_L) polarization map, and a robustness panel.

    python examples/latta09.py --out figures --size small

``size="small"`` runs in a few minutes on 2 CPU cores; ``size="paper"`` uses larger nuclear
baths and finer grids; ``size="large"`` runs only the N = 10⁴-10⁵ baths on the paper's time
axis (:func:`figure_s1_large`, :func:`figure_large_table`). Every figure's data is saved
next to it as ``.npz``.
"""

import argparse
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib


matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from jaxspin import Progress  # noqa: E402
from jaxspin.latta09 import (  # noqa: E402
    RATE_UNIT_PER_SECOND,
    DickeSpace,
    ImplicitEuler,
    Latta09Params,
    PhenomenologicalModel,
    ShellBath,
    detuning_scan,
    drag,
    dragging_width,
    electron_zeeman_ueV,
    fit_common_saturation,
    fit_critical_step,
    polarization_map,
    polarization_rates,
    scan_detunings,
    shell_steady_state,
    zero_crossings,
)


KEY = "latta09"
#: The sizes :func:`make_figures` knows (``jaxspin figures --size``).
FIGURE_SIZES = ("small", "paper", "large")
DECAY_ONLY = ("decay_up", "decay_down")


def _save(fig, out_dir: Path, name: str, **data) -> list[Path]:
    png = out_dir / f"{KEY}_{name}.png"
    fig.tight_layout(rect=(0, 0, 1, 0.93))  # leave room for the suptitle
    fig.savefig(png, dpi=130, bbox_inches="tight")
    plt.close(fig)
    npz = out_dir / f"{KEY}_{name}.npz"
    np.savez(npz, **{k: np.asarray(v) for k, v in data.items()})
    return [png, npz]


def _mark(ax, pts, y0=0.0):
    for q in pts:
        ax.plot(q.x, y0, "o", ms=7, mec="k", mfc="k" if q.stable else "w", zorder=5)


# ------------------------------------------------------------------------------ Fig. S4
def figure_s4(out_dir: Path, n_nuclei: int) -> list[Path]:
    params = Latta09Params()
    space = DickeSpace(n_nuclei)
    eff = np.linspace(-5, 5, 1001)
    per_s = RATE_UNIT_PER_SECOND
    r0 = polarization_rates(params, space, np.zeros_like(eff), eff)
    pts0 = zero_crossings(eff, np.asarray(r0.total), stable_if_slope="positive")
    ph = PhenomenologicalModel.from_params(params, n_nuclei)
    # polarisations for panels d/e: the smallest |P| with the P > 0 four-crossing structure
    p_list = np.geomspace(1e-3, 0.2, 40)
    p_pos = p_list[-1]
    for pv in p_list:
        r = polarization_rates(params, space, np.full_like(eff, pv), eff)
        if len(zero_crossings(eff, np.asarray(r.total), stable_if_slope="positive")) == 4:
            p_pos = pv
            break
    rp = polarization_rates(params, space, np.full_like(eff, p_pos), eff)
    rn = polarization_rates(params, space, np.full_like(eff, -p_pos), eff)
    fig, ax = plt.subplots(1, 5, figsize=(20, 3.8))
    ax[0].plot(eff, per_s * np.asarray(r0.reverse_overhauser), label="reverse Overhauser (+z)")
    ax[0].plot(eff, per_s * np.asarray(r0.overhauser), label="Overhauser (−z)")
    ax[0].plot(eff, per_s * np.asarray(r0.decay), label="decay γ_dec")
    ax[0].plot(eff, per_s * np.asarray(r0.total), "k", label="total")
    ax[0].set_title("(a) parts of dP/dt at P = 0")
    ax[1].plot(eff, per_s * np.asarray(r0.total), "k", label="master equation")
    ax[1].plot(eff, per_s * np.asarray(ph.rate_at_effective(0.0, eff)), "--", label="Eq. (13)")
    _mark(ax[1], pts0)
    ax[1].set_title("(b) dP/dt at P = 0: locking points")
    ax[2].plot(eff, np.asarray(r0.absorption) / float(params.gamma), "C3")
    for q in pts0:
        ax[2].axvline(q.x, color="k", ls="-" if q.stable else ":", lw=1)
    ax[2].set_title("(c) absorption (Γ+γ_hhlh)ρ_tt / Γ")
    for a, r, lab in ((ax[3], rp, f"(d) P = +{p_pos:.3f}"), (ax[4], rn, f"(e) P = −{p_pos:.3f}")):
        a.plot(eff, per_s * np.asarray(r.total), "k")
        _mark(a, zero_crossings(eff, np.asarray(r.total), stable_if_slope="positive"))
        a.set_title(lab)
    for a in ax:
        a.axhline(0, color="0.6", lw=0.8)
        a.set_xlabel("effective detuning Δω̃ = ω̃_t − ω_L (µeV)")
    for a in (ax[0], ax[1], ax[3], ax[4]):
        a.set_ylabel("dP/dt (1/s)")
    ax[0].legend(fontsize=7)
    ax[1].legend(fontsize=7)
    fig.suptitle(
        f"Latta09 Fig. S4 character: competition of polarization rates (N = {n_nuclei}; "
        "filled: stable, open: unstable; Δω̃ > 0 is a red-detuned laser)"
    )
    return _save(
        fig,
        out_dir,
        "figS4",
        effective_detuning=eff,
        rate_p0=r0.total,
        roh=r0.reverse_overhauser,
        oh=r0.overhauser,
        decay=r0.decay,
        absorption=r0.absorption,
        rate_pos=rp.total,
        rate_neg=rn.total,
        p_pos=p_pos,
        locks=[q.x for q in pts0],
    )


# ----------------------------------------------------------- stationary scan and the map
def figure_steady(out_dir: Path, n_nuclei: int, map_shape: tuple[int, int]) -> list[Path]:
    params = Latta09Params()
    space = DickeSpace(n_nuclei)
    step = float(params.hyperfine) / n_nuclei
    dets = np.arange(-round(6 / step), round(6 / step) + 1) * step
    ss = detuning_scan(params, space, dets)
    bare = detuning_scan(params, space, dets, include=DECAY_ONLY)
    nd, nr = map_shape
    mdets = np.arange(nd) * (round(12 / step / (nd - 1)) * step)
    mdets = mdets - mdets[nd // 2]
    rabis = np.linspace(0.2, 3.0, nr)
    mp = polarization_map(params, space, mdets, rabis, progress=True)
    fig, ax = plt.subplots(1, 4, figsize=(19, 3.8))
    g = float(params.gamma)
    ax[0].plot(dets, np.asarray(bare.absorption) / g, "0.5", label="no DNSP (decay only)")
    ax[0].plot(dets, np.asarray(ss.absorption) / g, "C3", label="with DNSP")
    ax[0].set_ylabel("absorption / Γ")
    ax[0].legend(fontsize=8)
    ax[1].plot(dets, np.asarray(ss.overhauser_shift), "C0")
    ax[1].fill_between(
        dets,
        np.asarray(ss.overhauser_shift - ss.overhauser_std),
        np.asarray(ss.overhauser_shift + ss.overhauser_std),
        color="C0",
        alpha=0.25,
    )
    ax[1].set_ylabel("Overhauser shift (A/N)⟨I_z⟩ ± std (µeV)")
    ax[2].plot(dets, np.asarray(ss.fluctuation_ratio), "C2")
    ax[2].axhline(1, color="0.6", lw=0.8)
    ax[2].set_ylabel("var(I_z) / thermal var")
    ax[2].set_title("fluctuation suppression at the lock")
    for a in ax[:3]:
        a.set_xlabel("laser detuning Δω = ω_t − ω_L (µeV)")
    im = ax[3].pcolormesh(
        mp.coords["detuning"],
        mp.coords["rabi"] / g,
        mp["polarization"].T,
        cmap="RdBu_r",
        shading="auto",
    )
    vmax = float(np.max(np.abs(mp["polarization"])))
    im.set_clim(-vmax, vmax)
    fig.colorbar(im, ax=ax[3], label="polarization P")
    ax[3].set_xlabel("laser detuning Δω (µeV)")
    ax[3].set_ylabel("Ω_L / Γ")
    ax[3].set_title(f"stationary P ({nd} × {nr} map)")
    fig.suptitle(f"Latta09 stationary state vs laser detuning (N = {n_nuclei}, defaults)")
    return _save(
        fig,
        out_dir,
        "steady",
        detuning=dets,
        absorption=ss.absorption,
        absorption_bare=bare.absorption,
        overhauser_shift=ss.overhauser_shift,
        overhauser_std=ss.overhauser_std,
        fluctuation_ratio=ss.fluctuation_ratio,
        map_detuning=mp.coords["detuning"],
        map_rabi=mp.coords["rabi"],
        map_polarization=mp["polarization"],
        map_fluctuation_ratio=mp["fluctuation_ratio"],
    )


# ------------------------------------------------------------------------- dragging
def drag_config(size: str) -> tuple[DickeSpace, Latta09Params]:
    """A strongly locking dot (κ = Γ/500) with the Overhauser step A/N ≈ 0.13 µeV (small)
    or 0.07 µeV (paper); A ∝ √N keeps the thermal Overhauser spread A/(2√N) ≈ 0.5 µeV."""
    n = 60 if size == "small" else 200
    return DickeSpace(n, tail=1e-4), Latta09Params(hyperfine=8.0 * np.sqrt(n / 60), kappa=0.002)


def _padded(start, stop, step, length):
    d = scan_detunings(start, stop, step)
    return np.concatenate([d, np.full(length - d.size, d[-1])]) if d.size < length else d


def figure_s1(out_dir: Path, size: str, progress: bool) -> list[Path]:
    space, params = drag_config(size)
    dwells = np.geomspace(1e-6, 1e-1, 11 if size == "small" else 21)
    steps = [0.1, 0.2, 0.4, 0.8] if size == "small" else [0.1, 0.2, 0.4, 0.8, 1.2]
    extra_steps = [1.2, 1.6, 2.4, 3.2]
    span = 6.0
    length = int(round(2 * span / min(steps))) + 1
    widths = {}
    scans = {}
    min_shift = {}
    with Progress(len(steps) + len(extra_steps), desc="latta09 Fig. S1", enabled=progress) as bar:
        for step in steps + extra_steps:
            d = _padded(span, -span, step, length)
            s = drag(params, space, d, jnp.asarray(dwells))
            n_real = scan_detunings(span, -span, step).size
            widths[step] = np.array(
                [dragging_width(d[:n_real], np.asarray(a)[:n_real]) for a in s.absorption]
            )
            scans[step] = (d[:n_real], np.asarray(s.absorption)[:, :n_real])
            min_shift[step] = np.asarray(s.overhauser_shift).min(axis=1)
            bar.update(1)
    # common-τ saturation fit on the rising part of each curve (up to its maximum)
    rise_t, rise_w = [], []
    for step in steps:
        k = int(np.argmax(widths[step]))
        rise_t.append(dwells[: k + 1])
        rise_w.append(widths[step][: k + 1])
    usable = [i for i, t in enumerate(rise_t) if t.size >= 3]
    fit = fit_common_saturation(
        [rise_t[i] for i in usable], [rise_w[i] for i in usable], throw=False
    )
    all_steps = np.array(steps + extra_steps)
    # how far the line is dragged to the blue (Overhauser direction) at the dwell where the
    # small-step width peaks: frozen minus dragged minimum of the Overhauser shift
    k_star = int(np.argmax(widths[steps[0]]))
    dragged = np.array([min_shift[s][0] - min_shift[s][k_star] for s in all_steps])
    fmax = fit_critical_step(all_steps, dragged, throw=False)
    fig, ax = plt.subplots(1, 4, figsize=(19, 3.8))
    for a, step in ((ax[0], steps[1]), (ax[1], steps[-1])):
        d, absn = scans[step]
        picks = (0, int(np.argmax(widths[step])), len(dwells) - 1)
        for j, shade in zip(picks, (0.7, 0.1, 0.45), strict=True):
            lab = f"T = {dwells[j]:.1e} s"
            a.plot(d, absn[j] / float(params.gamma), color=str(shade), label=lab)
        a.set_xlabel("laser detuning Δω (µeV), scanned red → blue")
        a.set_ylabel("absorption / Γ")
        a.set_title(f"step Δ = {step} µeV")
        a.legend(fontsize=7)
    for i, step in enumerate(steps):
        ax[2].semilogx(dwells, widths[step], "o", ms=3, color=f"C{i}", label=f"Δ = {step} µeV")
    if fit.converged:
        for j, i in enumerate(usable):  # each curve over the rising part it was fitted to
            tt = np.geomspace(dwells[0], rise_t[i][-1], 100)
            p = fit.params
            w = p.w_min[j] + (p.w_max[j] - p.w_min[j]) * (1 - np.exp(-tt / p.tau))
            ax[2].semilogx(tt, w, color=f"C{i}", lw=1)
        ax[2].set_title(f"width vs dwell; common τ = {float(fit.params.tau):.2e} s (fit)")
    ax[2].set_xlabel("dwell time T_dwell (s)")
    ax[2].set_ylabel("dragging width (µeV)")
    ax[2].legend(fontsize=7)
    ax[3].plot(all_steps, dragged, "^", label=f"dragged to the blue at T = {dwells[k_star]:.1e} s")
    if fmax.converged:
        ss = np.linspace(all_steps[0], all_steps[-1], 200)
        p = fmax.params
        ax[3].plot(ss, p.w_inf + (p.w_0 - p.w_inf) * np.exp(-ss / p.delta_c), "0.4")
        ax[3].set_title(
            f"(d) collapse with step: Δω_c = {float(fmax.params.delta_c):.2f} µeV (fit)"
        )
    ax[3].set_xlabel("detuning step Δ (µeV)")
    ax[3].set_ylabel("Overhauser shift dragged (µeV)")
    ax[3].legend(fontsize=7)
    fig.suptitle(
        f"Latta09 Fig. S1 character: dragging vs dwell time and step (N = {space.n_nuclei}, "
        f"A = {float(params.hyperfine):.1f} µeV, κ = {float(params.kappa)} µeV; model time units)"
    )
    return _save(
        fig,
        out_dir,
        "figS1",
        dwells=dwells,
        steps=all_steps,
        widths=np.array([widths[s] for s in all_steps]),
        dragged_shift=dragged,
        tau=float(fit.params.tau),
        tau_err=float(fit.stderr.tau),
        delta_c=float(fmax.params.delta_c),
    )


def figure_s2(out_dir: Path, size: str, progress: bool) -> list[Path]:
    space, params = drag_config(size)
    dwell = 1e-4
    step = 0.2
    length = int(round(12 / step)) + 1
    rabis = np.array([0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0])
    fields = np.array([1.0, 2.0, 3.0, 4.5, 6.0, 8.0])

    def max_width(p):
        out = []
        for start, stop in ((6.0, -6.0), (-6.0, 6.0)):
            d = _padded(start, stop, step, length)
            s = drag(p, space, d, jnp.asarray([1e-12, dwell]))
            out.append([dragging_width(d, np.asarray(a)) for a in s.absorption])
        out = np.array(out)  # (direction, [frozen, dwell])
        return out[:, 1].max(), out[:, 0].max()

    res_r, res_b = [], []
    with Progress(rabis.size + fields.size, desc="latta09 Fig. S2", enabled=progress) as bar:
        for r in rabis:
            res_r.append(max_width(params.replace(rabi=r)))
            bar.update(1)
        for b in fields:
            res_b.append(max_width(params.replace(field=b)))
            bar.update(1)
    res_r, res_b = np.array(res_r), np.array(res_b)
    g = float(params.gamma)
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    ax[0].plot(rabis / g, res_r[:, 0] / g, "o-", label=f"max dragging width, T = {dwell:g} s")
    ax[0].plot(rabis / g, res_r[:, 1] / g, "s--", color="0.5", label="frozen nuclei (T → 0)")
    ax0 = ax[0].twinx()
    ax0.plot(rabis / g, (res_r[:, 0] - res_r[:, 1]) / g, "^-", color="C3")
    ax0.set_ylabel("dragging excess / Γ (red triangles)")
    ax[0].set_xlabel("Ω_L / Γ")
    ax[0].set_ylabel("width / Γ")
    ax[0].legend(fontsize=8)
    ax[1].plot(fields, res_b[:, 0] / g, "o-", label=f"max dragging width, T = {dwell:g} s")
    ax[1].plot(fields, res_b[:, 1] / g, "s--", color="0.5", label="frozen nuclei")
    ax[1].plot(
        fields,
        (res_b[:, 0] - res_b[:, 1]) / g + res_b[0, 1] / g,
        "^:",
        color="C3",
        label="excess (offset by the frozen width)",
    )
    zeeman = np.array([electron_zeeman_ueV(float(params.g_e), b) for b in fields]) / g
    ax1 = ax[1].twinx()
    ax1.plot(fields, zeeman, color="0.7", lw=1)
    ax1.set_ylabel("Δω_z / Γ (grey line)")
    ax[1].set_xlabel("B (T)")
    ax[1].set_ylabel("width / Γ")
    ax[1].legend(fontsize=8)
    fig.suptitle(
        "Latta09 Fig. S2 character: maximum dragging vs Rabi frequency and field "
        f"(N = {space.n_nuclei}, step {step} µeV)"
    )
    return _save(
        fig,
        out_dir,
        "figS2",
        rabis=rabis,
        width_vs_rabi=res_r,
        fields=fields,
        width_vs_field=res_b,
        zeeman=zeeman,
    )


# ---------------------------------------------------------------------- robustness
VARIATIONS = {
    "defaults": {},
    "κ/2": {"kappa": 0.0025},
    "κ×1.5": {"kappa": 0.0075},
    "γ_hhlh×2": {"gamma_hhlh": 0.02},
    "c_spin=10": {"spin_dephasing": 10.0},
    "η=0.02": {"decay": 0.02},
    "η=1": {"decay": 1.0},
    "A=50": {"hyperfine": 50.0},
    "A=200": {"hyperfine": 200.0},
    "Ω_L=2Γ": {"rabi": 2.0},
}


def robustness_table(n_nuclei: int = 1000) -> dict[str, dict[str, float]]:
    """Conclusions under parameter variations: the stable P = 0 lock is on the red side,
    the fluctuation ratio at the lock is < 1, ROH alone gives P > 0 and OH alone P < 0
    near resonance."""
    space = DickeSpace(n_nuclei)
    eff = np.linspace(-6, 6, 1201)
    out = {}
    for name, change in VARIATIONS.items():
        p = Latta09Params().replace(**change) if change else Latta09Params()
        r = polarization_rates(p, space, np.zeros_like(eff), eff)
        pts = zero_crossings(eff, np.asarray(r.total), stable_if_slope="positive")
        stable = [q.x for q in pts if q.stable]
        step = float(p.hyperfine) / n_nuclei
        dets = np.arange(-round(6 / step), round(6 / step) + 1, max(1, round(0.25 / step))) * step
        ss = detuning_scan(p, space, dets)
        oh = detuning_scan(
            p, space, dets, include=("overhauser_up", "overhauser_down") + DECAY_ONLY
        )
        roh = detuning_scan(p, space, dets, include=("reverse_overhauser",) + DECAY_ONLY)
        near = np.abs(dets) <= 1.0
        out[name] = {
            "stable_lock": stable[0] if len(stable) == 1 else np.nan,
            "n_locks": len(pts),
            "min_fluct_ratio_red": float(np.min(np.asarray(ss.fluctuation_ratio)[dets > 0])),
            "max_P_oh_near": float(np.max(np.asarray(oh.polarization)[near])),
            "min_P_roh": float(np.min(np.asarray(roh.polarization))),
        }
    return out


def figure_robustness(out_dir: Path, n_nuclei: int) -> list[Path]:
    table = robustness_table(n_nuclei)
    names = list(table)
    fig, ax = plt.subplots(1, 3, figsize=(16, 4))
    y = np.arange(len(names))
    ax[0].barh(y, [table[n]["stable_lock"] for n in names], color="C0")
    ax[0].set_xlabel("stable P = 0 lock Δω̃ (µeV); > 0: red side")
    ax[1].barh(y, [table[n]["min_fluct_ratio_red"] for n in names], color="C2")
    ax[1].axvline(1, color="k", lw=0.8)
    ax[1].set_xlabel("min var(I_z)/thermal, laser red of line")
    ax[2].barh(y - 0.2, [table[n]["min_P_roh"] for n in names], 0.4, label="ROH only: min P")
    ax[2].barh(y + 0.2, [table[n]["max_P_oh_near"] for n in names], 0.4, label="OH only: max P")
    ax[2].axvline(0, color="k", lw=0.8)
    ax[2].legend(fontsize=7)
    for a in ax:
        a.set_yticks(y, names)
    fig.suptitle(f"Latta09: which conclusions survive the open parameters (N = {n_nuclei})")
    return _save(
        fig,
        out_dir,
        "robustness",
        names=np.array(names),
        **{k: np.array([table[n][k] for n in names]) for k in table["defaults"]},
    )


# ------------------------------------------------------------ large baths (size="large")
#: Dwell times [s] of the large-bath Fig. S1: the paper's 0.2, 1, 5 s [Latta09, Fig. S1a-b]
#: and a few more for the saturation fit of Fig. S1c.
LARGE_DWELLS = np.array([0.05, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0])
#: Steps [µeV]: 0.4 and 1.2 of Fig. S1a-b, 0.2, 0.4, 1.6, 2.0 of Fig. S1c.
LARGE_STEPS = (0.2, 0.4, 1.2, 1.6, 2.0)
#: Truncation bound of the large-bath ladders (reported with every result).
LARGE_TAIL = 1e-6
#: Backward-Euler substeps per dwell (the error estimate is reported with every result).
LARGE_SUBSTEPS = 4


def large_config(n_nuclei: int, spin: float) -> tuple[DickeSpace, Latta09Params]:
    """A bath of the real dot's size with the physical hyperfine constant A = 100 µeV (the
    module defaults) and the strongly locking dot of the dragging examples (κ = Γ/500).
    No rescaling of A with N: the nuclear rates then carry ε = (A/(N ω_z))², which puts the
    build-up on the paper's time axis at N ~ 10⁵ (README, latta09)."""
    return DickeSpace(n_nuclei, spin, tail=LARGE_TAIL), Latta09Params(kappa=0.002)


def _rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def large_drag(space, params, step, dwells, span=3.0):
    """One red → blue scan ``+span → −span`` [µeV] starting from the stationary state at
    ``+span``, with :class:`ImplicitEuler`; returns the
    detunings, the scan, its widths per dwell [µeV] and the wall time [s]."""
    import time

    d = scan_detunings(span, -span, step)
    t0 = time.perf_counter()
    s = drag(params, space, d, jnp.asarray(dwells), propagator=ImplicitEuler(LARGE_SUBSTEPS))
    absn = np.asarray(s.absorption)
    seconds = time.perf_counter() - t0
    widths = np.array([dragging_width(d, a) for a in absn])
    return d, s, widths, seconds


def figure_s1_large(out_dir: Path, progress: bool, n_nuclei: int = 100_000) -> list[Path]:
    """Fig. S1 on the paper's time axis for N spin-½ nuclei: scans at T_dwell = 0.2, 1, 5 s
    (steps 0.4 and 1.2 µeV), width vs dwell for steps 0.2-2 µeV with the paper's common-τ
    fit (rising part of each curve, as for the small figure), and the same fit on the most
    blue Overhauser shift of each scan (whole dwell range). Nothing is tuned to the paper:
    the parameters are :func:`large_config`'s."""
    space, params = large_config(n_nuclei, 0.5)
    g = float(params.gamma)
    step = float(params.hyperfine) / n_nuclei
    dets = np.arange(-round(3 / step), round(3 / step) + 1, round(0.05 / step)) * step
    no_dnsp = detuning_scan(params, space, dets, include=DECAY_ONLY)
    frozen = dragging_width(dets, np.asarray(no_dnsp.absorption))  # thermal line [µeV]
    res = {}
    with Progress(
        len(LARGE_STEPS), desc=f"latta09 Fig. S1 (N = {n_nuclei})", enabled=progress
    ) as bar:
        for step in LARGE_STEPS:
            res[step] = large_drag(space, params, step, LARGE_DWELLS)
            bar.update(1)
    fit_steps = (0.2, 0.4, 1.6, 2.0)
    rise_t, rise_w = [], []
    for step in fit_steps:
        w = res[step][2]
        k = int(np.argmax(w))
        rise_t.append(LARGE_DWELLS[: k + 1])
        rise_w.append(w[: k + 1])
    usable = [i for i, t in enumerate(rise_t) if t.size >= 3]
    # no curve with a rising part of >= 3 dwells (all relaxed already): no width fit
    fit = (
        fit_common_saturation([rise_t[i] for i in usable], [rise_w[i] for i in usable], throw=False)
        if usable
        else None
    )
    converged = fit is not None and bool(fit.converged)
    # the same common-τ model on the most blue Overhauser shift reached in each scan (how
    # far the nuclei follow the laser), whole dwell range: it saturates where the width
    # does not (the finite-N lock escapes, README), so it is reported next to the width fit
    shift_curves = [-np.asarray(res[s][1].overhauser_shift).min(axis=1) for s in fit_steps]
    fit_shift = fit_common_saturation([LARGE_DWELLS] * len(fit_steps), shift_curves, throw=False)
    tau_shift = float(fit_shift.params.tau) if fit_shift.converged else np.nan
    picks = [int(np.argmin(np.abs(LARGE_DWELLS - t))) for t in (0.2, 1.0, 5.0)]
    fig, ax = plt.subplots(1, 4, figsize=(19, 3.8))
    for a, step in ((ax[0], 0.4), (ax[1], 1.2)):
        d, s, w, _ = res[step]
        for j, shade in zip(picks, (0.7, 0.4, 0.1), strict=True):
            lab = f"T = {LARGE_DWELLS[j]:g} s: width {w[j] / g:.2f} Γ"
            a.plot(d, np.asarray(s.absorption)[j] / g, color=str(shade), label=lab)
        a.set_xlabel("laser detuning Δω (µeV), scanned red → blue")
        a.set_ylabel("absorption / Γ")
        a.set_title(f"step Δ = {step} µeV")
        a.legend(fontsize=7)
    for i, step in enumerate(fit_steps):
        ax[2].semilogx(
            LARGE_DWELLS, res[step][2] / g, "o", ms=3, color=f"C{i}", label=f"Δ = {step} µeV"
        )
    tau = float(fit.params.tau) if converged else np.nan
    if converged:
        for j, i in enumerate(usable):
            tt = np.geomspace(LARGE_DWELLS[0], rise_t[i][-1], 100)
            p = fit.params
            w = p.w_min[j] + (p.w_max[j] - p.w_min[j]) * (1 - np.exp(-tt / p.tau))
            ax[2].semilogx(tt, w / g, color=f"C{i}", lw=1)
        ax[2].set_title(f"width vs dwell; common τ = {tau:.2g} s (fit)")
    ax[2].axhline(frozen / g, color="0.5", ls=":", lw=1, label="no DNSP (thermal line)")
    ax[2].set_xlabel("dwell time T_dwell (s)")
    ax[2].set_ylabel("dragging width / Γ")
    ax[2].legend(fontsize=7)
    for i, step in enumerate(LARGE_STEPS):
        ax[3].semilogx(
            LARGE_DWELLS,
            np.asarray(res[step][1].overhauser_shift).min(axis=1),
            "o-",
            ms=3,
            color=f"C{i}",
            label=f"Δ = {step} µeV",
        )
    ax[3].set_title(f"dragged shift; common τ = {tau_shift:.2g} s (fit, Δ of S1c)")
    ax[3].set_xlabel("dwell time T_dwell (s)")
    ax[3].set_ylabel("most blue Overhauser shift (µeV)")
    ax[3].legend(fontsize=7)
    err = max(float(np.asarray(res[s][1].propagation_error).sum(axis=1).max()) for s in LARGE_STEPS)
    fig.suptitle(
        f"Latta09 Fig. S1 on the paper's time axis: N = {n_nuclei} spin-½, A = "
        f"{float(params.hyperfine):g} µeV, κ = {float(params.kappa)} µeV (homogeneous Dicke "
        f"model; tail {space.tail_weight:.1e}, ℓ¹ propagation bound {err:.1e})"
    )
    return _save(
        fig,
        out_dir,
        f"figS1_N{n_nuclei}",
        dwells=LARGE_DWELLS,
        steps=np.array(LARGE_STEPS),
        widths_ueV=np.array([res[s][2] for s in LARGE_STEPS]),
        widths_gamma=np.array([res[s][2] for s in LARGE_STEPS]) / g,
        min_shift=np.array(
            [np.asarray(res[s][1].overhauser_shift).min(axis=1) for s in LARGE_STEPS]
        ),
        tau=tau,
        tau_err=float(fit.stderr.tau) if converged else np.nan,
        tau_shift=tau_shift,
        tau_shift_err=float(fit_shift.stderr.tau) if fit_shift.converged else np.nan,
        frozen_width_ueV=frozen,
        tail_weight=space.tail_weight,
        propagation_bound=err,
        seconds=np.array([res[s][3] for s in LARGE_STEPS]),
        peak_rss_mib=_rss_mib(),
    )


def large_table(progress: bool) -> dict[tuple[int, float], dict[str, float]]:
    """Stationary state and one dragging scan (step 0.4 µeV, dwells 0.2, 1, 5 s) for
    N = 10⁴, 10⁵ and spin ½, 3/2: sizes, truncation, errors, widths [µeV], times [s];
    ``peak_rss_mib`` is the process's peak so far (cumulative over the rows; per-row peaks:
    ``benchmarks/bench_latta09_large.py``)."""
    import time

    out = {}
    dwells = np.array([0.2, 1.0, 5.0])
    configs = [(10_000, 0.5), (10_000, 1.5), (100_000, 0.5), (100_000, 1.5)]
    with Progress(len(configs), desc="latta09 large baths", enabled=progress) as bar:
        for n, spin in configs:
            space, params = large_config(n, spin)
            step = float(params.hyperfine) / n
            dets = np.arange(-round(3 / step), round(3 / step) + 1, round(0.05 / step)) * step
            t0 = time.perf_counter()
            ss = detuning_scan(params, space, dets)
            absn = np.asarray(ss.absorption)
            t_ss = time.perf_counter() - t0
            d, s, w, t_drag = large_drag(space, params, 0.4, dwells)
            frozen = dragging_width(
                dets, np.asarray(detuning_scan(params, space, dets, include=DECAY_ONLY).absorption)
            )
            out[(n, spin)] = {
                "L": space.num_ladders,
                "K": space.num_m,
                "tail_weight": space.tail_weight,
                "max_abs_P_stationary": float(np.max(np.abs(np.asarray(ss.polarization)))),
                "stationary_width_ueV": dragging_width(dets, absn),
                "frozen_width_ueV": frozen,
                "stationary_seconds": t_ss,
                "drag_seconds": t_drag,
                "drag_steps": d.size,
                "propagation_bound": float(np.asarray(s.propagation_error).sum(axis=1).max()),
                **{f"width_ueV_T{t:g}": float(x) for t, x in zip(dwells, w, strict=True)},
                "peak_rss_mib": _rss_mib(),
            }
            bar.update(1)
    return out


def figure_large_table(out_dir: Path, progress: bool) -> list[Path]:
    table = large_table(progress)
    keys = list(table)
    cols = list(table[keys[0]])
    fig, ax = plt.subplots(figsize=(16, 2.6))
    ax.axis("off")
    cells = [[f"{table[k][c]:.4g}" for c in cols] for k in keys]
    tab = ax.table(
        cellText=cells,
        rowLabels=[f"N = {n:g}, I_n = {s:g}" for n, s in keys],
        colLabels=cols,
        loc="center",
    )
    tab.auto_set_font_size(False)
    tab.set_fontsize(6)
    fig.suptitle(
        "Latta09 homogeneous Dicke model at large N (step 0.4 µeV; widths and Γ = 1 µeV; "
        f"tail bound {LARGE_TAIL:g}, {LARGE_SUBSTEPS} backward-Euler substeps)"
    )
    return _save(
        fig,
        out_dir,
        "large_table",
        configs=np.array(keys),
        columns=np.array(cols),
        values=np.array([[table[k][c] for c in cols] for k in keys], float),
    )


def figure_shells(out_dir: Path, n_nuclei: int = 24) -> list[Path]:
    """Stationary polarisation vs detuning of the homogeneous bath (one shell) and of two
    Gaussian-envelope shells (:meth:`ShellBath.gaussian`) of the same N, with the ladder
    bound (reverse Overhauser alone, tiny decay: every ladder at its top) of each."""
    import time

    params = Latta09Params(hyperfine=8.0 * np.sqrt(n_nuclei / 60), kappa=0.002)
    dets = np.linspace(-4.0, 4.0, 41)
    roh_only = ("reverse_overhauser",) + DECAY_ONLY
    res = {}
    for label, bath in (
        ("1 shell (homogeneous)", ShellBath((n_nuclei,), (1.0,))),
        ("2 Gaussian shells", ShellBath.gaussian(n_nuclei, 2)),
    ):
        t0 = time.perf_counter()
        run = jax.jit(jax.vmap(lambda d, b=bath: shell_steady_state(params.replace(detuning=d), b)))
        ss = run(jnp.asarray(dets))
        bound = shell_steady_state(params.replace(decay=1e-7), bath, include=roh_only)
        res[label] = (bath, ss, float(bound.polarization), time.perf_counter() - t0)
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    for i, (label, (_, ss, bound, _)) in enumerate(res.items()):
        ax[0].plot(dets, np.asarray(ss.polarization), color=f"C{i}", label=label)
        ax[0].axhline(bound, color=f"C{i}", ls=":", lw=1)
        ax[0].axhline(-bound, color=f"C{i}", ls=":", lw=1)
        ax[1].plot(
            dets, np.asarray(ss.absorption) / float(params.gamma), color=f"C{i}", label=label
        )
    ax[0].set_ylabel("stationary polarisation P (dotted: ladder bound)")
    ax[1].set_ylabel("absorption / Γ")
    for a in ax:
        a.set_xlabel("laser detuning Δω (µeV)")
        a.legend(fontsize=8)
    c = res["2 Gaussian shells"][0].couplings
    fig.suptitle(
        f"Latta09 inhomogeneous bath: N = {n_nuclei}, A = {float(params.hyperfine):.2f} µeV, "
        f"shell couplings c_s N = {', '.join(f'{x * n_nuclei:.2f}' for x in c)}"
    )
    return _save(
        fig,
        out_dir,
        "shells",
        detuning=dets,
        labels=np.array(list(res)),
        polarization=np.array([np.asarray(r[1].polarization) for r in res.values()]),
        overhauser_shift=np.array([np.asarray(r[1].overhauser_shift) for r in res.values()]),
        absorption=np.array([np.asarray(r[1].absorption) for r in res.values()]),
        ladder_bound=np.array([r[2] for r in res.values()]),
        seconds=np.array([r[3] for r in res.values()]),
    )


def make_figures(out_dir: Path, *, size: str = "small", progress: bool = True) -> list[Path]:
    """Write the Latta09 figures (PNG + NPZ) into ``out_dir``; returns the paths.

    ``size="large"`` writes only the large-bath figures (N = 10⁴, 10⁵ on the paper's time
    axis: ``latta09_figS1_N100000``, ``latta09_large_table``; and the two-shell
    inhomogeneous bath, ``latta09_shells``; about 20 minutes on 2 CPU cores); ``"small"``
    and ``"paper"`` do not run them."""
    if size not in FIGURE_SIZES:
        raise ValueError(f"`size` must be 'small', 'paper' or 'large'; got {size!r}.")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if size == "large":
        return (
            figure_large_table(out_dir, progress)
            + figure_s1_large(out_dir, progress)
            + figure_shells(out_dir)
        )
    paths = []
    paths += figure_s4(out_dir, 1000)
    paths += figure_steady(out_dir, 1000, (61, 41) if size == "small" else (200, 200))
    paths += figure_s1(out_dir, size, progress)
    paths += figure_s2(out_dir, size, progress)
    paths += figure_robustness(out_dir, 1000)
    return paths


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="figures")
    parser.add_argument("--size", default="small", choices=["small", "paper", "large"])
    args = parser.parse_args()
    for path in make_figures(Path(args.out), size=args.size):
        print(path)
