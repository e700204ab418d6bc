"""Couplings, flip-flop rates and the diffusion tensor of [Gong11], Eqs. (6), (18)-(25).

Units: couplings are angular frequencies [rad/s] (energy / hbar, the engine's convention);
lengths in nm; rates in 1/s; diffusion coefficients in nm^2/s.

Readings of the printed paper (the gong11 section of README.md has the numbers behind each choice):

* ``A0 = 1 µeV ≈ 1.5 MHz`` cannot be literal (1 µeV/h = 242 MHz). The figures decide:
  ``A0 = 1 neV`` (``A0/hbar = 1.52e6 rad/s``, the "1.5 MHz") gives the central peak of
  Fig. 1 (about 3x bulk at 0.2 T), the Knight-shift dip of Figs. 1-2, and with the 2-D
  square lattice ``sum_k A_k = A0 pi l0^2 / a0^2 = 8.9 µeV`` per layer, ``≈ 80 µeV`` over the
  ``z0 / (2 a0) ≈ 9`` cos^2-weighted layers of the dot. Default ``A0_neV = 1``.
* Eq. (18) is a rate only with ``1/hbar`` or ``1/h`` in front; its derivation from Eq. (17)
  (Gaussian time integral ``∫ exp(-σ² t²/2ħ²) dt = √(2π) ħ/σ``) gives ``1/hbar``. The
  paper's bulk value ``D ≈ 7 nm^2/s`` is reproduced only with ``1/h`` (couplings in Hz
  used as rates), i.e. all its rates are ``2 pi`` smaller than the derivation's.
  ``planck="h"`` (default, the paper's numbers) or ``"hbar"`` (the derivation); the
  choice rescales every rate, ``D`` and time by exactly ``2 pi``.
* The prefactors of Eq. (18) for ``I = 3/2``: re-deriving them from the spin-3/2 matrix
  elements (:func:`flipflop_prefactors`) gives ``(17/5, 24/5, 9/5)``; the paper prints
  ``(17/5, 12/5, 9/10)``: the last two halved. Default: the paper's
  (:data:`PAPER_PREFACTORS`); the derived set raises the bulk ``D`` by 46%.
* The sign of the electron-mediated term: with the paper's ``H_e = -g_e mu_B B0 S_z``,
  GaAs (conduction-band g-factor ``-0.44`` in the usual ``+g mu_B B S_z`` convention) has
  ``g_e = +0.44``; ``g_e S_z > 0`` adds to the in-plane dipolar coupling (``B_ik > 0`` for
  ``theta = 90 deg``) and gives Fig. 1's central peak. ``g_e S_z < 0`` cancels it
  (a central dip instead): the paper's remark that ``S_z = ±1/2`` give "almost the same
  result" holds only for the Knight shift.
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .. import constants
from .._batching import map_batched
from .._checks import jit
from .._inputs import check_int, check_value, is_concrete
from .._memory import check_fits
from ._lattice import Neighbourhood


PAPER_PREFACTORS: tuple[float, ...] = (17 / 5, 12 / 5, 9 / 10)
"""Prefactors of ``√(2π) C² / sqrt(A² + 64 n² C² + g)``, ``n = 0, 1, 2``, as printed in
[Gong11, Eq. (18)] for ``I = 3/2``."""

NEV_RAD_S = 1e-9 * constants.EV / constants.HBAR
"""One nano-electronvolt as an angular frequency [rad/s] (``1.519e6``)."""


def _asarray(x):
    return jnp.asarray(x)


def flipflop_prefactors(spin: float) -> tuple[float, ...]:
    """Prefactors ``p_n`` of Eq. (18) derived for spin ``I`` (``n = 0 .. 2I-1``).

    The flip-flop ``(m_i, m_k) -> (m_i + 1, m_k - 1)`` has the squared matrix element
    ``[I(I+1) - m_i(m_i+1)] [I(I+1) - m_k(m_k-1)]`` and changes the ``I^z I^z`` energy by
    ``4 C n`` with ``n = m_k - m_i - 1``. Linearising Eq. (15) in the polarisations of the
    product state Eq. (16) and doing the Gaussian time integral gives
    ``W = √(2π) C² Σ_n p_n / sqrt(A² + 64 n² C² + g)`` with
    ``p_n = 2 Σ_{|m_k - m_i - 1| = n} |M|² / ((2I+1) Tr(I_z²))``.
    For ``I = 3/2``: ``(17/5, 24/5, 9/5)``; for ``I = 1/2``: ``(2,)``.
    """
    twice = round(2 * spin)
    if twice < 1 or abs(twice - 2 * spin) > 1e-12:
        raise ValueError(f"`spin` must be a positive half-integer; got {spin}.")
    ms = [spin - k for k in range(twice + 1)]
    tr_iz2 = sum(m * m for m in ms)
    ii = spin * (spin + 1)
    p = [0.0] * twice  # n = |m_k - m_i - 1| <= 2I - 1
    for mi in ms[1:]:  # raisable: m_i < I
        for mk in ms[:-1]:  # lowerable: m_k > -I
            n = abs(round(mk - mi - 1))
            p[n] += (ii - mi * (mi + 1)) * (ii - mk * (mk - 1))
    norm = (twice + 1) * tr_iz2
    return tuple(2 * x / norm for x in p)


class QuantumDot(eqx.Module):
    """Parameters of the dot and nuclear species of [Gong11] (traced: ``grad``/``vmap`` work
    on every numeric field) plus the readings of the paper (static).

    **Fields:**

    - ``A0_neV``: hyperfine coupling of a nucleus at the dot centre [neV] (default 1; see
      the module docstring for why not the printed "1 µeV").
    - ``l0_nm``: Fock-Darwin radius ``l0`` [nm] (30); ``z0_nm``: dot thickness ``z0`` [nm] (10).
    - ``B0_T``: external field ``B0`` [T] along z (0.2).
    - ``g_e``: electron g-factor in the paper's convention ``H_e = -g_e mu_B B0 S_z``
      (0.44: GaAs). ``s_z``: electron ``<S_z>`` (1/2 for the (1,1) state, 0 for the (2,0)
      singlet). They enter the Knight shift ``2 s_z A_ik`` and Eq. (20).
    - ``gamma``: nuclear gyromagnetic ratio [rad s^-1 T^-1] (75As).
    - ``spin``: nuclear spin ``I`` (static, 3/2).
    - ``prefactors``: ``p_n`` of Eq. (18) (static; :data:`PAPER_PREFACTORS` or
      :func:`flipflop_prefactors`).
    - ``planck``: ``"h"`` or ``"hbar"`` in front of Eq. (18) (static, default ``"h"``).

    Checked at construction (``ValueError`` for concrete values, ``eqx.error_if`` for
    values traced inside ``jit``/``vmap``): every numeric field finite; ``A0_neV >= 0``;
    ``l0_nm``, ``z0_nm > 0``; ``|s_z| <= 1/2``; ``B0_T`` and ``g_e`` nonzero when
    ``s_z != 0``; ``spin`` a positive half-integer; ``prefactors`` finite and >= 0, 1 to
    ``2I`` of them; ``planck`` ``"h"`` or ``"hbar"``.

    ```python
    dot = QuantumDot(B0_T=2.0)
    dot_derived = QuantumDot(planck="hbar", prefactors=flipflop_prefactors(1.5))
    ```
    """

    A0_neV: Float[Array, ""] = eqx.field(converter=_asarray, default=1.0)
    l0_nm: Float[Array, ""] = eqx.field(converter=_asarray, default=30.0)
    z0_nm: Float[Array, ""] = eqx.field(converter=_asarray, default=10.0)
    B0_T: Float[Array, ""] = eqx.field(converter=_asarray, default=0.2)
    g_e: Float[Array, ""] = eqx.field(converter=_asarray, default=0.44)
    s_z: Float[Array, ""] = eqx.field(converter=_asarray, default=0.5)
    gamma: Float[Array, ""] = eqx.field(
        converter=_asarray, default=constants.ISOTOPES["75As"].gamma
    )
    spin: float = eqx.field(static=True, default=constants.ISOTOPES["75As"].spin)
    prefactors: tuple[float, ...] = eqx.field(static=True, default=PAPER_PREFACTORS)
    planck: str = eqx.field(static=True, default="h")

    def __post_init__(self):
        # value checks that stay in the traced program (a field built inside jit/vmap is
        # refused at run time); the static fields are checked in __check_init__
        for f, (bad, text) in _DOT_RULES.items():
            x = jnp.asarray(getattr(self, f))
            setattr(self, f, check_value(x, bad, f"`{f}` must be {text}."))
        # the joint check: now if all three are concrete, else on every traced one (a
        # check on a field the computation never reads would be dead code)
        s_z, B0, g_e = self.s_z, self.B0_T, self.g_e
        joint = ("s_z", "B0_T", "g_e")
        traced = [f for f in joint if not is_concrete(getattr(self, f))]
        for f in traced or joint[:1]:
            setattr(
                self,
                f,
                check_value(
                    getattr(self, f),
                    lambda _: (s_z != 0) & (B0 * g_e == 0),
                    "`B0_T` and `g_e` must be nonzero when `s_z` != 0: the electron-mediated "
                    "term A_i A_k S_z / (2 g_e mu_B B0) assumes g_e mu_B B0 >> A (Eqs. (7)-(9)).",
                ),
            )

    def __check_init__(self):
        twice = round(2 * self.spin) if math.isfinite(self.spin) else 0
        if twice < 1 or abs(twice - 2 * self.spin) > 1e-12:
            raise ValueError(f"`spin` must be a positive half-integer; got {self.spin}.")
        if not all(math.isfinite(p) and p >= 0 for p in self.prefactors):
            raise ValueError(f"`prefactors` must be finite and >= 0; got {self.prefactors}.")
        if self.planck not in ("h", "hbar"):
            raise ValueError(f"`planck` must be 'h' or 'hbar'; got {self.planck!r}.")
        if not 1 <= len(self.prefactors) <= round(2 * self.spin):
            raise ValueError(
                f"`prefactors` must have 1 to 2I = {round(2 * self.spin)} entries; "
                f"got {len(self.prefactors)}."
            )

    @classmethod
    def for_isotope(cls, symbol: str, **kwargs) -> "QuantumDot":
        """A dot with the spin and gyromagnetic ratio of ``symbol`` (from
        :data:`jaxspin.constants.ISOTOPES`); derived Eq. (18) prefactors unless given."""
        iso = constants.isotope(symbol)
        kwargs.setdefault("prefactors", flipflop_prefactors(iso.spin))
        return cls(gamma=iso.gamma, spin=iso.spin, **kwargs)

    # -- derived quantities (rad/s) ----------------------------------------------------
    @property
    def A0(self) -> Float[Array, ""]:
        """``A0`` as an angular frequency [rad/s]."""
        return self.A0_neV * NEV_RAD_S

    @property
    def electron_zeeman(self) -> Float[Array, ""]:
        """``g_e mu_B B0 / hbar`` [rad/s] (signed with ``g_e``)."""
        return self.g_e * (constants.MU_B / constants.HBAR) * self.B0_T

    @property
    def dipolar_constant(self) -> Float[Array, ""]:
        """``(mu0/4pi) hbar gamma^2`` [rad/s nm^3]: ``B_ij`` of two nuclei 1 nm apart in
        the plane (Eq. (6) divided by hbar)."""
        return 1e-7 * constants.HBAR * self.gamma**2 * 1e27

    @property
    def rate_scale(self) -> float:
        """Factor applied to ``√(2π) C²/sqrt(...)`` in rad/s: 1 (``1/hbar``) or
        ``1/(2 pi)`` (``1/h``)."""
        return 1.0 if self.planck == "hbar" else 1.0 / (2 * math.pi)

    @property
    def variance_factor(self) -> float:
        """The ``80`` of Eq. (21): ``(64/3) I(I+1)`` (80 for ``I = 3/2``)."""
        return 64.0 / 3.0 * self.spin * (self.spin + 1)


_finite = lambda a: ~jnp.isfinite(a)
_DOT_RULES = {
    "A0_neV": (lambda a: _finite(a) | (a < 0), "finite and >= 0 [neV]"),
    "l0_nm": (lambda a: _finite(a) | (a <= 0), "finite and > 0 [nm]"),
    "z0_nm": (lambda a: _finite(a) | (a <= 0), "finite and > 0 [nm]"),
    "B0_T": (_finite, "finite [T]"),
    "g_e": (_finite, "finite"),
    "s_z": (lambda a: _finite(a) | (jnp.abs(a) > 0.5), "finite with |s_z| <= 1/2"),
    "gamma": (_finite, "finite [rad s^-1 T^-1]"),
}


def _check_dot(dot, nb=None) -> None:
    if not isinstance(dot, QuantumDot):
        raise TypeError(f"`dot` must be a QuantumDot; got {type(dot).__name__}.")
    if nb is not None and not isinstance(nb, Neighbourhood):
        raise TypeError(
            f"`nb` must be a Neighbourhood (see `neighbourhood`); got {type(nb).__name__}."
        )


def _last_axis(x, size: int, name: str, exact: bool = False):
    x = jnp.asarray(x)
    if (x.ndim != 1 if exact else x.ndim < 1) or x.shape[-1] != size:
        want = f"({size},)" if exact else f"(..., {size})"
        raise ValueError(f"`{name}` must have shape {want}; got {x.shape}.")
    return x


def _block_size(block_size) -> int:
    if block_size is None:
        return _default_block()
    return check_int(block_size, "block_size", 1)


# ----------------------------------------------------------------------------------------
# Pair couplings
# ----------------------------------------------------------------------------------------
def hyperfine(dot: QuantumDot, xyz: Float[ArrayLike, "... 3"]) -> Float[Array, "..."]:
    """Hyperfine coupling ``A_i = A0 cos²(π z/z0) exp(-(x²+y²)/l0²)`` [rad/s] of a nucleus at
    ``xyz`` [nm] (``(..., 3)``) [Gong11, text after Eq. (21)]; zero outside the well
    ``|z| > z0/2``."""
    xyz = _last_axis(xyz, 3, "xyz")
    x, y, z = xyz[..., 0], xyz[..., 1], xyz[..., 2]
    well = jnp.where(jnp.abs(z) <= dot.z0_nm / 2, jnp.cos(jnp.pi * z / dot.z0_nm) ** 2, 0.0)
    return dot.A0 * well * jnp.exp(-(x**2 + y**2) / dot.l0_nm**2)


def _dipolar_geometry(d):
    r2 = jnp.sum(d**2, axis=-1)
    safe = jnp.where(r2 > 0, r2, 1.0)
    cos2 = d[..., 2] ** 2 / safe
    return jnp.where(r2 > 0, (1 - 3 * cos2) / safe**1.5, 0.0)


def dipolar(dot: QuantumDot, displacement: Float[ArrayLike, "... 3"]) -> Float[Array, "..."]:
    """Dipolar coupling ``B_ij = (mu0/4pi)(g_n mu_N)² (1 - 3cos²θ_ij)/R_ij³`` / hbar [rad/s]
    for the displacement ``R_ij`` [nm] (``(..., 3)``) [Gong11, Eq. (6)] (0 for zero
    displacement)."""
    return dot.dipolar_constant * _dipolar_geometry(_last_axis(displacement, 3, "displacement"))


def electron_mediated(
    dot: QuantumDot, A_i: Float[ArrayLike, "..."], A_k: Float[ArrayLike, "..."]
) -> Float[Array, "..."]:
    """Electron-mediated flip-flop coupling ``A_i A_k S_z / (2 g_e mu_B B0)`` [rad/s]
    [Gong11, Eq. (9)]; ``A_i A_k / (4 g_e mu_B B0)`` at ``S_z = 1/2`` (Eq. (20))."""
    zeeman = dot.electron_zeeman
    safe = jnp.where(zeeman == 0, 1.0, zeeman)  # S_z = 0 at B0 = 0: no term, not 0/0
    value = jnp.asarray(A_i) * jnp.asarray(A_k) * dot.s_z / (2 * safe)
    return jnp.where(dot.s_z == 0, 0.0, jnp.where(zeeman == 0, jnp.inf, value))


def effective_coupling(
    dot: QuantumDot, x_i: Float[ArrayLike, "... 3"], x_k: Float[ArrayLike, "... 3"]
) -> Float[Array, "..."]:
    """``C_ik = B_ik + A_i A_k / (4 g_e mu_B B0)`` [rad/s] (``S_z`` general) for nuclei at
    ``x_i``, ``x_k`` [nm] [Gong11, Eq. (20)]."""
    x_i, x_k = _last_axis(x_i, 3, "x_i"), _last_axis(x_k, 3, "x_k")
    return dipolar(dot, x_i - x_k) + electron_mediated(
        dot, hyperfine(dot, x_i), hyperfine(dot, x_k)
    )


def flipflop_rate(
    dot: QuantumDot,
    C: Float[ArrayLike, "..."],
    A_ik: Float[ArrayLike, "..."],
    g: Float[ArrayLike, "..."],
) -> Float[Array, "..."]:
    """Flip-flop rate ``W_ik`` [1/s] of [Gong11, Eq. (18)]:
    ``W = s √(2π) C² Σ_n p_n / sqrt((2 S_z A_ik)² + 64 n² C² + g)`` with ``C``, ``A_ik``
    [rad/s], ``g`` [rad²/s²], ``p_n = dot.prefactors`` and ``s = dot.rate_scale``
    (``1/(2π)`` for the paper's ``1/h`` reading). ``A_ik`` is the bare difference
    ``A_i - A_k``: the Knight shift of the flip-flop is ``S_z A_ik`` (Eq. (11)), which is
    the printed ``A_ik²`` at ``S_z = 1/2``. Checked: ``g >= 0`` (a variance; ``ValueError``
    now, or ``eqx.error_if`` when traced)."""
    g = check_value(jnp.asarray(g), lambda a: a < 0, "`g` must be >= 0 [rad²/s²] (a variance).")
    return _flipflop_rate(dot, C, A_ik, g)


def _flipflop_rate(dot, C, A_ik, g):
    C, A_ik, g = jnp.asarray(C), jnp.asarray(A_ik), jnp.asarray(g)
    knight2 = (2 * dot.s_z * A_ik) ** 2
    total = jnp.zeros_like(C * knight2)
    for n, p in enumerate(dot.prefactors):
        den = knight2 + 64.0 * n * n * C**2 + g
        safe = jnp.where(den > 0, den, 1.0)
        total = total + jnp.where(den > 0, p / jnp.sqrt(safe), jnp.inf)
    return dot.rate_scale * math.sqrt(2 * math.pi) * C**2 * total


# ----------------------------------------------------------------------------------------
# The stencil: all partners of one site
# ----------------------------------------------------------------------------------------
@jit
def bond_rates(
    dot: QuantumDot, nb: Neighbourhood, x_k: Float[ArrayLike, " 3"]
) -> Float[Array, " n"]:
    """Flip-flop rates ``W_ik`` [1/s] from the site at ``x_k`` [nm] to each partner
    ``i = x_k + nb.offsets[b]`` (one site; ``vmap`` for many).

    ``C_ik`` is Eq. (20), ``A_ik = A_i - A_k`` (Eq. (19)), and ``g_ik`` Eq. (21) sums
    ``80 (C_ij - C_kj)²`` over the sites ``j`` within the cut-off of ``i`` or ``k``
    (``nb.env``). The formula is symmetric in ``i <-> k``, so the rate computed from either
    end agrees (to rounding). ``x_k``: shape ``(3,)``.
    """
    _check_dot(dot, nb)
    x_k = _last_axis(x_k, 3, "x_k", exact=True)
    off = jnp.asarray(nb.offsets)
    env = jnp.asarray(nb.env)
    mask = jnp.asarray(nb.env_mask)
    A_k = hyperfine(dot, x_k)
    A_i = hyperfine(dot, x_k + off)  # (n,)
    A_j = hyperfine(dot, x_k + env)  # (n, m)
    C_ik = dipolar(dot, off) + electron_mediated(dot, A_i, A_k)
    C_kj = dipolar(dot, env) + electron_mediated(dot, A_k, A_j)
    C_ij = dipolar(dot, env - off[:, None, :]) + electron_mediated(dot, A_i[:, None], A_j)
    g = dot.variance_factor * jnp.sum(jnp.where(mask, (C_ij - C_kj) ** 2, 0.0), axis=-1)
    return _flipflop_rate(dot, C_ik, A_i - A_k, g)


@jit
def diffusion_tensor(
    dot: QuantumDot, nb: Neighbourhood, xy: Float[ArrayLike, " 2"]
) -> Float[Array, "2 2"]:
    """In-plane diffusion tensor ``D^{αβ} = Σ_i W_ik (x_k^α - x_i^α)(x_k^β - x_i^β) / 2``
    [nm²/s] of a site at ``(x, y, 0)`` [nm] [Gong11, Eq. (23)] (one point).

    Because the lattice is Bravais and ``A_i`` is a smooth function, this is a smooth field
    of the position: evaluating it between sites is how the PDE grid samples it. ``xy``:
    shape ``(2,)``."""
    xy = _last_axis(xy, 2, "xy", exact=True)
    x_k = jnp.concatenate([xy, jnp.zeros((1,), xy.dtype)])
    W = bond_rates(dot, nb, x_k)
    d = jnp.asarray(nb.offsets)[:, :2]
    return jnp.einsum("b,bi,bj->ij", W, d, d) / 2


@jit
def diffusion_coefficient(
    dot: QuantumDot, nb: Neighbourhood, xy: Float[ArrayLike, " 2"]
) -> Float[Array, ""]:
    """The paper's scalar ``D(x, y) = Σ_i W_ik [(x_k-x_i)² + (y_k-y_i)²] / 4`` [nm²/s]
    [Gong11, text before Eq. (25)]: half the trace of :func:`diffusion_tensor`."""
    D = diffusion_tensor(dot, nb, xy)
    return (D[0, 0] + D[1, 1]) / 2


def _default_block() -> int:
    # CPU: cache-sized blocks; accelerators: large blocks to fill the device
    return 4096 if jax.default_backend() == "cpu" else 1 << 17


def diffusion_map(
    dot: QuantumDot,
    nb: Neighbourhood,
    points: Float[ArrayLike, "... 2"],
    *,
    block_size: int | None = None,
) -> Float[Array, "... 2 2"]:
    """:func:`diffusion_tensor` at every point of ``points`` (``(..., 2)``, nm), in blocks of
    ``block_size`` points (default 4096 on CPU, 131072 on accelerators).
    ``D(x, y)`` of Eq. (25) is ``(out[..., 0, 0] + out[..., 1, 1])/2``.

    ```python
    nb = neighbourhood(SquareLattice())
    sites = SquareLattice().plane_sites(300.0)[:, :2]   # 8.9e5 sites
    D = diffusion_map(QuantumDot(B0_T=0.2), nb, sites)
    ```
    """
    _check_dot(dot, nb)
    points = jnp.asarray(points)
    if points.ndim < 1 or points.shape[-1] != 2:
        raise ValueError(f"`points` must have shape (..., 2); got {points.shape}.")
    npts = math.prod(points.shape[:-1])
    block_size = _block_size(block_size)
    per_point = nb.num_partners * (nb.env.shape[1] + 4) * 8 * points.dtype.itemsize
    check_fits(
        4 * npts * points.dtype.itemsize + per_point * min(npts, block_size),
        "the diffusion map",
    )
    return _diffusion_map(dot, nb, points, int(block_size))


@jit
def _diffusion_map(dot, nb, points, block_size):
    return map_batched(
        lambda p: diffusion_tensor(dot, nb, p),
        [points],
        [1],
        ["points"],
        block_size=block_size,
    )


def bond_rates_at(
    dot: QuantumDot,
    nb: Neighbourhood,
    sites: Float[ArrayLike, "N 3"],
    *,
    block_size: int | None = None,
) -> Float[Array, "N n"]:
    """:func:`bond_rates` of every site in ``sites`` (``(N, 3)``, nm): ``(N, n)`` [1/s], in
    blocks of ``block_size`` sites (memory checked first)."""
    _check_dot(dot, nb)
    sites = jnp.asarray(sites)
    if sites.ndim != 2 or sites.shape[-1] != 3:
        raise ValueError(f"`sites` must have shape (N, 3); got {sites.shape}.")
    block_size = _block_size(block_size)
    N, n = sites.shape[0], nb.num_partners
    per_site = n * (nb.env.shape[1] + 4) * 8 * sites.dtype.itemsize
    check_fits(
        N * n * sites.dtype.itemsize + per_site * min(N, block_size),
        f"the bond rates of {N} sites",
    )
    return _bond_rates_at(dot, nb, sites, int(block_size))


@jit
def _bond_rates_at(dot, nb, sites, block_size):
    return map_batched(
        lambda x: bond_rates(dot, nb, x), [sites], [1], ["sites"], block_size=block_size
    )


__all__ = [
    "PAPER_PREFACTORS",
    "QuantumDot",
    "bond_rates",
    "bond_rates_at",
    "diffusion_coefficient",
    "diffusion_map",
    "diffusion_tensor",
    "dipolar",
    "effective_coupling",
    "electron_mediated",
    "flipflop_prefactors",
    "flipflop_rate",
    "hyperfine",
]
