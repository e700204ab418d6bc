"""Physical constants, isotope data and unit conversions, in SI units.

Fundamental constants are CODATA 2018 (exact where the 2019 SI fixes them). Isotope spins,
magnetogyric ratios and natural abundances are from the IUPAC recommendations
(R. K. Harris et al., Pure Appl. Chem. 73, 1795 (2001), Table 1).

Conventions used throughout jaxspin:

* angular frequencies are in rad/s, "frequencies" with a ``_hz`` suffix in Hz;
* ``GYRO_E = G_E * MU_B / HBAR`` is the *magnitude* of the free-electron gyromagnetic
  ratio; material g-factors carry their sign (e.g. ``g_e = -0.44`` in GaAs) and a model
  says how the sign enters its Zeeman term;
* an isotope's ``gamma`` carries its sign (negative for 15N, 29Si, ...), so the nuclear
  Zeeman Hamiltonian is ``-hbar * gamma * B * I_z``.

Example:
    >>> from jaxspin import constants as c
    >>> round(c.ISOTOPES["1H"].gamma_hz / 1e6, 3)   # MHz/T
    42.577
"""

import math
from dataclasses import dataclass


# --- fundamental constants (SI) ---------------------------------------------------------
HBAR = 1.054571817e-34  #: reduced Planck constant [J s]
H_PLANCK = 6.62607015e-34  #: Planck constant [J s]
K_B = 1.380649e-23  #: Boltzmann constant [J/K]
E_CHARGE = 1.602176634e-19  #: elementary charge [C]
MU_B = 9.2740100783e-24  #: Bohr magneton [J/T]
MU_N = 5.0507837461e-27  #: nuclear magneton [J/T]
MU_0 = 1.25663706212e-6  #: vacuum permeability [N/A^2]
G_E = 2.00231930436256  #: free-electron g-factor, magnitude
GYRO_E = G_E * MU_B / HBAR  #: free-electron gyromagnetic ratio magnitude [rad s^-1 T^-1]

EV = E_CHARGE  #: one electronvolt [J]
UEV = 1e-6 * E_CHARGE  #: one micro-electronvolt [J]


# --- unit conversions -------------------------------------------------------------------
def energy_to_angular_frequency(energy_j: float) -> float:
    """Energy [J] -> angular frequency [rad/s], ``E / hbar``."""
    return energy_j / HBAR


def ueV_to_angular_frequency(energy_uev: float) -> float:
    """Energy [micro-eV] -> angular frequency [rad/s]."""
    return energy_uev * UEV / HBAR


def angular_frequency_to_ueV(omega: float) -> float:
    """Angular frequency [rad/s] -> energy [micro-eV]."""
    return omega * HBAR / UEV


def electron_larmor(b_tesla: float, g: float = G_E) -> float:
    """Electron Larmor angular frequency ``|g| mu_B B / hbar`` [rad/s] for field ``B`` [T]."""
    return abs(g) * MU_B * b_tesla / HBAR


def kelvin_to_angular_frequency(t_kelvin: float) -> float:
    """Thermal energy ``k_B T`` as an angular frequency [rad/s]."""
    return K_B * t_kelvin / HBAR


# --- isotopes ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Isotope:
    """A nuclear isotope: spin ``I``, magnetogyric ratio ``gamma`` [rad s^-1 T^-1] (signed),
    natural abundance (fraction, 0-1)."""

    symbol: str
    spin: float
    gamma: float
    abundance: float

    @property
    def gamma_hz(self) -> float:
        """``gamma / 2 pi`` [Hz/T] (signed)."""
        return self.gamma / (2 * math.pi)

    @property
    def g_factor(self) -> float:
        """Nuclear g-factor ``g_n = hbar gamma / mu_N`` (signed)."""
        return HBAR * self.gamma / MU_N

    def larmor(self, b_tesla: float) -> float:
        """Signed Larmor angular frequency ``gamma B`` [rad/s]."""
        return self.gamma * b_tesla


def _iso(symbol: str, spin: float, gamma_1e7: float, abundance_percent: float) -> Isotope:
    return Isotope(symbol, spin, gamma_1e7 * 1e7, abundance_percent / 100.0)


ISOTOPES: dict[str, Isotope] = {
    iso.symbol: iso
    for iso in (
        _iso("1H", 0.5, 26.7522128, 99.9885),
        _iso("2H", 1.0, 4.10662791, 0.0115),
        _iso("13C", 0.5, 6.728284, 1.07),
        _iso("14N", 1.0, 1.9337792, 99.636),
        _iso("15N", 0.5, -2.71261804, 0.364),
        _iso("19F", 0.5, 25.18148, 100.0),
        _iso("29Si", 0.5, -5.3190, 4.6832),
        _iso("31P", 0.5, 10.8394, 100.0),
        _iso("67Zn", 2.5, 1.676688, 4.10),
        _iso("69Ga", 1.5, 6.438855, 60.108),
        _iso("71Ga", 1.5, 8.181171, 39.892),
        _iso("73Ge", 4.5, -0.9360303, 7.73),
        _iso("75As", 1.5, 4.596163, 100.0),
        _iso("77Se", 0.5, 5.1253857, 7.63),
        _iso("111Cd", 0.5, -5.6983131, 12.80),
        _iso("113Cd", 0.5, -5.9609155, 12.22),
        _iso("113In", 4.5, 5.8845, 4.29),
        _iso("115In", 4.5, 5.8972, 95.71),
        _iso("125Te", 0.5, -8.5108404, 7.07),
        _iso("127I", 2.5, 5.389573, 100.0),
        _iso("133Cs", 3.5, 3.5332539, 100.0),
        _iso("207Pb", 0.5, 5.58046, 22.1),
    )
}
"""Isotopes by symbol ("75As", "69Ga", ...). See the module docstring for the source."""


def isotope(symbol: str) -> Isotope:
    """Look up an isotope by symbol, with a clear error listing the known ones."""
    try:
        return ISOTOPES[symbol]
    except KeyError:
        known = ", ".join(ISOTOPES)
        raise KeyError(f"Unknown isotope {symbol!r}; known isotopes: {known}.") from None
