"""Figures for [Gong11]: Overhauser-field decay by nuclear spin diffusion in a quantum dot.

1. ``gong11_fig1_D_map_0p2T.png``: D(x, y) at B0 = 0.2 T (Eq. (25)): a narrow central peak
   (electron-mediated flip-flops) inside a wide Knight-shift dip; radial and tangential
   components of the tensor Eq. (23) along the x axis and the diagonal.
2. ``gong11_fig2_D_map_2T.png``: the same at 2 T: the Knight-shift dip dominates.
3. ``gong11_fig3_decay_vs_field.png``: h_z(t)/h_z(0) for several small fields, electron in
   the (1,1) state (S_z = 1/2) and in the (2,0) singlet (S_z = 0); the lattice-validated
   tensor reading and the paper's literal D ∇²P.
4. ``gong11_fig4_decay_2T_fit.png``: the decay at 2 T and the constant-D_eff fit.
5. ``gong11_fig5_decay_vs_r0.png``: decays for initial widths r0 <= l0 at 0.2 T.
6. ``gong11_readings.png``: the lattice equation Eq. (17) against the three continuum
   readings of Eq. (25); the neighbour cut-off; how D_eff moves with the readings of the
   paper's numbers (A0, 1/h vs 1/hbar, Eq. (18) prefactors).
7. ``gong11_fit.png``: A0 and l0 recovered from a noisy synthetic decay, with error bars.

Run: ``python examples/gong11.py --out figures --size small`` or
``jaxspin figures --only gong11``. Each PNG has its data in a ``.npz`` of the same name.
"""

import argparse
import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import matplotlib


matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import jaxspin  # noqa: E402
from jaxspin import Progress  # noqa: E402
from jaxspin.gong11 import (  # noqa: E402
    ConstantDiffusion,
    DiskGrid,
    Krylov,
    QuantumDot,
    SquareLattice,
    constant_diffusion_model,
    default_neighbourhood,
    diffusion_coefficient,
    diffusion_map,
    fit_dot,
    fit_effective_diffusion,
    flipflop_prefactors,
    lattice_decay,
    neighbourhood,
    overhauser_decay,
)


SIZES = {
    # krylov: Lanczos steps for the low fields of Fig. 3 (grows like sqrt(D_max) / cell)
    "small": dict(
        map_step=1.0, cell=4.0, lattice_radius=150.0, fit_cell=6.0, times=41, krylov=1024
    ),
    "paper": dict(
        map_step=None, cell=2.0, lattice_radius=300.0, fit_cell=3.0, times=121, krylov=2048
    ),
}
FIELDS_MT = (10.0, 20.0, 50.0, 100.0, 200.0)
R0S = (10.0, 15.0, 20.0, 30.0)
TITLE = "Gong, Yin & Duan, NJP 13, 033036 (2011)"


def _save(out: Path, name: str, fig, **data) -> list[Path]:
    png = out / f"gong11_{name}.png"
    fig.savefig(png, dpi=130)
    plt.close(fig)
    np.savez(out / f"gong11_{name}.npz", **{k: np.asarray(v) for k, v in data.items()})
    return [png, out / f"gong11_{name}.npz"]


def _bulk() -> float:
    return float(
        diffusion_coefficient(QuantumDot(), default_neighbourhood(), jnp.array([250.0, 0]))
    )


# ---------------------------------------------------------------------------------------
# Figs. 1-2: the diffusion map
# ---------------------------------------------------------------------------------------
def d_map(B0: float, step: float | None):
    """D tensor over +-100 nm: on a square grid of ``step`` nm or (None) on every site."""
    if step is None:
        x = np.arange(-178, 179) * SquareLattice().spacing_nm  # the lattice sites
    else:
        x = np.arange(-100.0, 100.0 + step / 2, step)
    X, Y = np.meshgrid(x, x, indexing="ij")
    pts = jnp.asarray(np.stack([X, Y], axis=-1))
    return x, np.asarray(diffusion_map(QuantumDot(B0_T=B0), default_neighbourhood(), pts))


def radial_cuts(B0: float, r: np.ndarray):
    nb = default_neighbourhood()
    out = {}
    for name, direction in (("axis", (1.0, 0.0)), ("diagonal", (2**-0.5, 2**-0.5))):
        e = np.array(direction)
        D = np.asarray(diffusion_map(QuantumDot(B0_T=B0), nb, jnp.asarray(r[:, None] * e)))
        out[name] = dict(
            D=(D[:, 0, 0] + D[:, 1, 1]) / 2,
            radial=np.einsum("i,nij,j->n", e, D, e),
            tangential=np.einsum("i,nij,j->n", [-e[1], e[0]], D, [-e[1], e[0]]),
        )
    return out


def fig_map(out: Path, B0: float, name: str, step, caption: str) -> list[Path]:
    x, D = d_map(B0, step)
    Dscalar = (D[..., 0, 0] + D[..., 1, 1]) / 2
    r = np.linspace(0.0, 120.0, 241)
    cuts = radial_cuts(B0, r)
    bulk = _bulk()
    fig = plt.figure(figsize=(12, 5))
    ax = fig.add_subplot(1, 2, 1, projection="3d")
    stride = max(1, len(x) // 100)
    X, Y = np.meshgrid(x, x, indexing="ij")
    ax.plot_surface(
        X[::stride, ::stride],
        Y[::stride, ::stride],
        Dscalar[::stride, ::stride],
        cmap="viridis",
        linewidth=0,
        antialiased=True,
    )
    ax.set_xlabel("x (nm)")
    ax.set_ylabel("y (nm)")
    ax.set_zlabel(r"$D(x,y)$ (nm$^2$/s)")
    ax.set_title(f"D(x, y) = (D$^{{xx}}$+D$^{{yy}}$)/2 at B0 = {B0:g} T")
    ax2 = fig.add_subplot(1, 2, 2)
    for cut, ls in (("axis", "-"), ("diagonal", "--")):
        c = cuts[cut]
        ax2.plot(r, c["D"], "k" + ls, label=f"D (scalar), {cut}")
        ax2.plot(r, c["radial"], "C3" + ls, label=f"$D_{{rr}}$ (radial), {cut}")
        ax2.plot(r, c["tangential"], "C0" + ls, label=rf"$D_{{\theta\theta}}$, {cut}")
    ax2.axhline(bulk, color="gray", lw=0.8, ls=":", label=f"bulk {bulk:.2f} nm$^2$/s")
    ax2.set_yscale("log")
    ax2.set_xlabel("distance from the dot centre r (nm)")
    ax2.set_ylabel(r"diffusion coefficient (nm$^2$/s)")
    ax2.set_title(caption)
    ax2.legend(fontsize=7)
    fig.suptitle(f"{TITLE}, Fig. {1 if B0 < 1 else 2}: square lattice, cut-off 1 nm")
    fig.tight_layout()
    return _save(
        out,
        name,
        fig,
        x_nm=x,
        D_tensor=D,
        D=Dscalar,
        r_nm=r,
        **{f"{k}_{q}": v for k, c in cuts.items() for q, v in c.items()},
    )


# ---------------------------------------------------------------------------------------
# Figs. 3-5: decays
# ---------------------------------------------------------------------------------------
def decays_vs_field(ts, grid, form: str, krylov: int, progress: bool):
    """h_z(t)/h_z(0) over (field, S_z), through jaxspin.sweep (one point = one PDE)."""

    def point(B0_T, s_z):
        h = overhauser_decay(
            QuantumDot(B0_T=B0_T, s_z=s_z), ts, grid=grid, form=form, solver=Krylov(krylov)
        )
        return h / h[0]

    return jaxspin.sweep(
        point,
        {"B0_T": np.array(FIELDS_MT) / 1e3, "s_z": np.array([0.5, 0.0])},
        units={"B0_T": "T", "s_z": "1", "value": "h_z(t)/h_z(0)"},
        block_size=1,
        progress=progress,
        desc="gong11 Fig. 3",
    )


def fig_decay_vs_field(out: Path, ts, grid, krylov: int, progress: bool) -> list[Path]:
    res = {
        f: decays_vs_field(ts, grid, f, krylov, progress).values for f in ("tensor", "laplacian")
    }
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    for ax, (form, label) in zip(
        axes,
        (
            ("tensor", r"$\nabla\cdot(D\,\nabla P)$, tensor D (matches the lattice)"),
            ("laplacian", r"$D\,\nabla^2 P$ (Eq. (25) as printed)"),
        ),
        strict=True,
    ):
        for i, b in enumerate(FIELDS_MT):
            ax.semilogx(ts[1:], res[form][i, 0, 1:], color=f"C{i}", label=f"(1,1), {b:g} mT")
        ax.semilogx(ts[1:], res[form][0, 1, 1:], "k-", lw=2.5, label="(2,0) singlet, $S_z=0$")
        ax.set_xlabel("t (s)")
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(r"$h_z(t)/h_z(0)$")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{TITLE}, Fig. 3: decay vs field and electron state (A0 = 1 neV, l0 = 30 nm)")
    fig.tight_layout()
    return _save(
        out,
        "fig3_decay_vs_field",
        fig,
        t_s=ts,
        fields_mT=np.array(FIELDS_MT),
        s_z=np.array([0.5, 0.0]),
        tensor=res["tensor"],
        laplacian=res["laplacian"],
    )


def fig_decay_2T(out: Path, ts, grid) -> tuple[list[Path], dict]:
    dot = QuantumDot(B0_T=2.0)
    hz = overhauser_decay(dot, ts, grid=grid)
    res = fit_effective_diffusion(ts, hz, dot, grid=grid)
    D_eff, err = float(res.params.D_nm2_s), float(res.stderr.D_nm2_s)
    model = constant_diffusion_model(dot, grid=grid)
    fitted = model(res.params, jnp.asarray(ts))
    bulk = _bulk()
    bulk_curve = model(ConstantDiffusion(jnp.asarray(bulk)), jnp.asarray(ts))
    h0 = float(hz[0])
    fig, ax = plt.subplots(figsize=(6.5, 4.6))
    ax.plot(ts, hz / h0, "k-", lw=2, label="B0 = 2 T, D(x, y) tensor")
    label = f"constant D_eff = {D_eff:.2f} ± {err:.2f} nm²/s"
    ax.plot(ts, fitted / h0, "C3:", lw=2, label=label)
    ax.plot(ts, bulk_curve / h0, "C0--", lw=1, label=f"constant bulk D = {bulk:.2f} nm²/s")
    ax.set_xlabel("t (s)")
    ax.set_ylabel(r"$h_z(t)/h_z(0)$")
    ax.set_title(f"{TITLE}, Fig. 4\nD_eff / D_bulk = {D_eff / bulk:.2f} (paper: 0.7/7 = 0.1)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    paths = _save(
        out,
        "fig4_decay_2T_fit",
        fig,
        t_s=ts,
        hz_rad_s=hz,
        fit_rad_s=fitted,
        bulk_rad_s=bulk_curve,
        D_eff=D_eff,
        D_eff_stderr=err,
        D_bulk=bulk,
    )
    return paths, dict(D_eff=D_eff, D_bulk=bulk)


def fig_decay_vs_r0(out: Path, ts, grid) -> list[Path]:
    dot = QuantumDot(B0_T=0.2)
    curves = []
    fig, ax = plt.subplots(figsize=(6.5, 4.6))
    for i, r0 in enumerate(R0S):
        h = np.asarray(overhauser_decay(dot, ts, grid=grid, r0_nm=r0))
        curves.append(h / h[0])
        style = "k-" if r0 == 30.0 else f"C{i}--"
        label = f"r0 = {r0:g} nm" + (" = l0 (long pump)" if r0 == 30.0 else "")
        ax.semilogx(ts[1:], curves[-1][1:], style, label=label)
    ax.set_xlabel("t (s)")
    ax.set_ylabel(r"$h_z(t)/h_z(0)$")
    ax.set_title(f"{TITLE}, Fig. 5\ninitial <I_z> ∝ exp(-r²/r0²), B0 = 0.2 T")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(out, "fig5_decay_vs_r0", fig, t_s=ts, r0_nm=np.array(R0S), decay=np.array(curves))


# ---------------------------------------------------------------------------------------
# Readings of the paper: lattice vs continuum, cut-off, A0 / planck / prefactors
# ---------------------------------------------------------------------------------------
def fig_readings(out: Path, ts, lin, grid, lattice_radius: float, progress: bool) -> list[Path]:
    dot = QuantumDot(B0_T=2.0)
    lat = np.asarray(lattice_decay(dot, ts, radius_nm=lattice_radius, solver=Krylov(1024)))
    lat_grid = DiskGrid(radius_nm=lattice_radius, spacing_nm=grid.spacing_nm)
    forms = {}
    for form in ("tensor", "divergence", "laplacian"):
        forms[form] = np.asarray(overhauser_decay(dot, ts, grid=lat_grid, form=form))

    cutoffs = np.array([0.6, 1.0, 1.2, 1.7, 2.0, 2.5, 3.0, 4.0])
    centre, bulk = [], []
    for c in cutoffs:
        nb = neighbourhood(SquareLattice(), float(c))
        centre.append(float(diffusion_coefficient(QuantumDot(B0_T=0.2), nb, jnp.zeros(2))))
        bulk.append(float(diffusion_coefficient(QuantumDot(), nb, jnp.array([250.0, 0.0]))))

    variants = {
        "paper readings (A0 = 1 neV, 1/h, printed Eq. (18))": QuantumDot(B0_T=2.0),
        "A0 = 2 neV": QuantumDot(B0_T=2.0, A0_neV=2.0),
        "A0/h = 1.5 MHz (6.2 neV)": QuantumDot(B0_T=2.0, A0_neV=6.2),
        "1/hbar (derivation)": QuantumDot(B0_T=2.0, planck="hbar"),
        "derived Eq. (18) prefactors": QuantumDot(B0_T=2.0, prefactors=flipflop_prefactors(1.5)),
    }
    table = {}
    with Progress(len(variants), "gong11 readings", "variants", enabled=progress) as bar:
        for label, v in variants.items():
            h = overhauser_decay(v, lin, grid=grid)  # the times of Fig. 4
            D_eff = float(fit_effective_diffusion(lin, h, v, grid=grid).params.D_nm2_s)
            far = jnp.array([250.0, 0.0])
            D_bulk = float(diffusion_coefficient(v, default_neighbourhood(), far))
            low = eqx.tree_at(lambda d: d.B0_T, v, jnp.asarray(0.2))
            D_c = float(diffusion_coefficient(low, default_neighbourhood(), jnp.zeros(2)))
            table[label] = (D_eff, D_bulk, D_c)
            bar.update(1)

    fig, axes = plt.subplots(1, 3, figsize=(19, 5.2), gridspec_kw=dict(width_ratios=[1, 1, 1.5]))
    ax = axes[0]
    ax.semilogx(ts[1:], lat[1:] / lat[0], "k-", lw=3, alpha=0.5, label="lattice Eq. (17)")
    for form, st in (("tensor", "C3--"), ("divergence", "C0:"), ("laplacian", "C2-.")):
        err = np.max(np.abs(forms[form] / forms[form][0] - lat / lat[0]))
        curve = forms[form][1:] / forms[form][0]
        ax.semilogx(ts[1:], curve, st, label=f"{form} (max dev {err:.1e})")
    ax.set_xlabel("t (s)")
    ax.set_ylabel(r"$h_z(t)/h_z(0)$")
    nsites = len(SquareLattice().plane_sites(lattice_radius))
    ax.set_title(f"2 T: lattice ({nsites:.2g} sites) vs readings of Eq. (25)", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax = axes[1]
    ax.semilogy(cutoffs, centre, "o-", label="D(0) at 0.2 T (central peak)")
    ax.semilogy(cutoffs, bulk, "s-", label="bulk D")
    ax.axvline(1.0, color="gray", ls=":", label="default 1.0 nm (8 neighbours)")
    ax.set_xlabel("neighbour cut-off (nm)")
    ax.set_ylabel(r"D (nm$^2$/s)")
    ax.set_title("cut-off: bulk converges, the electron-mediated peak does not", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax = axes[2]
    labels = list(table)
    y = np.arange(len(labels))[::-1]
    ratios = [table[k][0] / table[k][1] for k in labels]
    ax.barh(y, ratios, 0.6, color="C1", label="D_eff / D_bulk at 2 T")
    ax.axvline(0.1, color="k", ls=":", label="paper: 0.7/7 = 0.1")
    for yi, k, r in zip(y, labels, ratios, strict=True):
        D_eff, D_b, D_c = table[k]
        ax.text(
            r + 0.005,
            yi,
            f"D_eff {D_eff:.2f}, bulk {D_b:.1f}, D(0) at 0.2 T {D_c:.0f}",
            va="center",
            fontsize=7,
        )
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xlim(0, 0.55)
    ax.set_xlabel("D_eff / D_bulk (nm²/s units cancel)")
    ax.set_title("readings of the paper's numbers vs D_eff (2 T)", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(f"{TITLE}: readings")
    fig.tight_layout()
    return _save(
        out,
        "readings",
        fig,
        t_s=ts,
        lattice=lat,
        **{f"continuum_{k}": v for k, v in forms.items()},
        cutoffs_nm=cutoffs,
        D_centre_0p2T=np.array(centre),
        D_bulk=np.array(bulk),
        variants=np.array(labels),
        variants_D_eff_bulk_centre=np.array([table[k] for k in labels]),
    )


# ---------------------------------------------------------------------------------------
# The fit of A0 and l0
# ---------------------------------------------------------------------------------------
def fig_fit(out: Path, cell: float) -> list[Path]:
    grid = DiskGrid(radius_nm=200.0, spacing_nm=cell)
    ts = jnp.linspace(0.0, 3000.0, 31)
    truth = QuantumDot(B0_T=0.2)
    clean = overhauser_decay(truth, ts, grid=grid)
    sigma = 0.01 * float(clean[0])
    noisy = clean + sigma * jax.random.normal(jax.random.PRNGKey(2011), clean.shape)
    start = QuantumDot(B0_T=0.2, A0_neV=0.7, l0_nm=25.0)
    res = fit_dot(ts, noisy, start, sigma=sigma, grid=grid)
    fitted = overhauser_decay(res.params, ts, grid=grid)
    initial = overhauser_decay(start, ts, grid=grid)
    A0, dA0 = float(res.params.A0_neV), float(res.stderr.A0_neV)
    l0, dl0 = float(res.params.l0_nm), float(res.stderr.l0_nm)
    fig, ax = plt.subplots(figsize=(6.5, 4.6))
    s = 1e-9
    ax.errorbar(ts, noisy * s, yerr=sigma * s, fmt="k.", label="synthetic data (1% noise)")
    ax.plot(ts, initial * s, "C0:", label="start: A0 = 0.7 neV, l0 = 25 nm")
    label = f"fit: A0 = {A0:.3f}±{dA0:.3f} neV, l0 = {l0:.2f}±{dl0:.2f} nm"
    ax.plot(ts, fitted * s, "C3-", label=label)
    ax.set_xlabel("t (s)")
    ax.set_ylabel(r"$h_z$ ($10^9$ rad/s)")
    ax.set_title(
        f"{TITLE}: fit through the full model at 0.2 T\n(truth A0 = 1 neV, l0 = 30 nm; "
        f"reduced chi2 = {float(res.reduced_chi2):.2f})",
        fontsize=10,
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(
        out,
        "fit",
        fig,
        t_s=ts,
        data=noisy,
        sigma=sigma,
        fit=fitted,
        A0_neV=[A0, dA0],
        l0_nm=[l0, dl0],
        covariance=res.covariance,
    )


def make_figures(out_dir: Path, *, size: str = "small", progress: bool = True) -> list[Path]:
    """Write the gong11 figures (PNG + .npz) into ``out_dir``; ``size`` small or paper."""
    if size not in SIZES:
        raise ValueError(f"`size` must be one of {sorted(SIZES)}; got {size!r}.")
    cfg = SIZES[size]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ts = np.concatenate([[0.0], np.logspace(0, 4, cfg["times"])])
    lin = np.linspace(0.0, 1e4, cfg["times"])
    grid = DiskGrid(radius_nm=300.0, spacing_nm=cfg["cell"])
    step = cfg["map_step"]
    tasks = [
        ("Fig. 1", lambda: fig_map(out, 0.2, "fig1_D_map_0p2T", step, "0.2 T: peak and dip")),
        ("Fig. 2", lambda: fig_map(out, 2.0, "fig2_D_map_2T", step, "2 T: wide dip")),
        ("Fig. 3", lambda: fig_decay_vs_field(out, ts, grid, cfg["krylov"], progress)),
        ("Fig. 4", lambda: fig_decay_2T(out, lin, grid)[0]),
        ("Fig. 5", lambda: fig_decay_vs_r0(out, ts, grid)),
        ("readings", lambda: fig_readings(out, ts, lin, grid, cfg["lattice_radius"], progress)),
        ("fit", lambda: fig_fit(out, cfg["fit_cell"])),
    ]
    paths: list[Path] = []
    with Progress(len(tasks), "gong11 figures", "figures", enabled=progress) as bar:
        for name, make in tasks:
            t0 = time.perf_counter()
            paths += make()
            bar.update(1, postfix=f"{name} {time.perf_counter() - t0:.0f} s")
    return paths


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="figures", help="output directory")
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args()
    for p in make_figures(Path(args.out), size=args.size, progress=not args.quiet):
        print(p)
