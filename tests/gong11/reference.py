"""An independent NumPy implementation of [Gong11] Eqs. (6), (18)-(23) for the tests.

Written from the paper, not from jaxspin.gong11: explicit site lists (no stencil tables),
SI constants from scipy.constants, energies in joules until the end. Slow; small inputs.
"""

import itertools
import math

import numpy as np
from scipy import constants as sc


GAMMA_AS75 = 4.596163e7  # rad/s/T, Harris et al. (2001)
PAPER = (17 / 5, 12 / 5, 9 / 10)


def lattice_points(kind, a, extent):
    """All lattice points (nm) with |coordinates| <= extent around the origin site."""
    if kind == "square":
        n = int(extent / a) + 1
        return np.array([(i * a, j * a, 0.0) for i in range(-n, n + 1) for j in range(-n, n + 1)])
    n = int(2 * extent / a) + 1
    pts = [
        (i * a / 2, j * a / 2, k * a / 2)
        for i, j, k in itertools.product(range(-n, n + 1), repeat=3)
        if (i + j + k) % 2 == 0
    ]
    return np.array(pts)


class Dot:
    def __init__(self, A0_neV=1.0, l0=30.0, z0=10.0, B0=0.2, g_e=0.44, s_z=0.5):
        self.A0_J = A0_neV * 1e-9 * sc.e
        self.l0, self.z0, self.B0, self.g_e, self.s_z = l0, z0, B0, g_e, s_z

    def A_J(self, p):
        p = np.atleast_2d(p)
        well = np.where(np.abs(p[:, 2]) <= self.z0 / 2, np.cos(np.pi * p[:, 2] / self.z0) ** 2, 0)
        return self.A0_J * well * np.exp(-(p[:, 0] ** 2 + p[:, 1] ** 2) / self.l0**2)

    def B_J(self, d):
        d = np.atleast_2d(d) * 1e-9
        R = np.linalg.norm(d, axis=1)
        cos2 = (d[:, 2] / R) ** 2
        gn_muN = sc.hbar * GAMMA_AS75  # g_n mu_N [J/T]
        return sc.mu_0 / (4 * np.pi) * gn_muN**2 * (1 - 3 * cos2) / R**3

    def C_J(self, pi, pk):
        """Eq. (20) with S_z general: B_ik + A_i A_k S_z / (2 g_e mu_B B0)."""
        e = self.g_e * sc.physical_constants["Bohr magneton"][0] * self.B0
        return self.B_J(pi - pk) + self.A_J(pi) * self.A_J(pk) * self.s_z / (2 * e)


def rate(dot, pi, pk, sites, cutoff, pref=PAPER, planck=sc.h):
    """W_ik of Eq. (18) [1/s]; g_ik of Eq. (21) summed over sites within cutoff of i or k."""
    di = np.linalg.norm(sites - pi, axis=1)
    dk = np.linalg.norm(sites - pk, axis=1)
    env = sites[((di <= cutoff + 1e-9) | (dk <= cutoff + 1e-9)) & (di > 1e-9) & (dk > 1e-9)]
    C = dot.C_J(pi, pk)[0]
    g = 80 * sum((dot.C_J(pi, pj)[0] - dot.C_J(pk, pj)[0]) ** 2 for pj in env)
    Aik = 2 * dot.s_z * (dot.A_J(pi)[0] - dot.A_J(pk)[0])
    s = sum(p / math.sqrt(Aik**2 + 64 * n * n * C**2 + g) for n, p in enumerate(pref))
    return math.sqrt(2 * math.pi) * C**2 * s / planck


def diffusion_tensor(dot, kind, a, cutoff, xy, pref=PAPER, planck=sc.h):
    """D^{ab} of Eq. (23) [nm^2/s] at a site located at (x, y, 0)."""
    pk = np.array([xy[0], xy[1], 0.0])
    rel = lattice_points(kind, a, 2 * cutoff + a)
    sites = rel + pk
    dist = np.linalg.norm(rel, axis=1)
    D = np.zeros((2, 2))
    for p, d in zip(sites, dist, strict=True):
        if 1e-9 < d <= cutoff + 1e-9:
            w = rate(dot, p, pk, sites, cutoff, pref, planck)
            D += w * np.outer((p - pk)[:2], (p - pk)[:2]) / 2
    return D
