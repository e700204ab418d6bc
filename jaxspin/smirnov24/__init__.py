"""[Smirnov24] D. S. Smirnov and K. V. Kavokin, "Cooling and heating nuclear spins by
strongly localized electrons": nuclear spin temperature under hopping electrons with any
correlation time.

Units: times in ``T2e* = ħ/(a√N_I)``, fields in one unit of the caller's choice (the
paper's Fig. 2 uses ``B̃_L = √3 B_L``, see :meth:`Parameters.paper`), ``ħγ_N β`` in the
inverse field unit. ``_units.py`` converts to SI. README.md (smirnov24) lists the readings
of the paper's equations.
"""

from ._fit import (
    fit_polarization as fit_polarization,
    polarization_model as polarization_model,
)
from ._optimum import (
    OptimalField as OptimalField,
    optimal_field as optimal_field,
    optimal_field_long as optimal_field_long,
    optimal_field_small_n as optimal_field_small_n,
)
from ._params import SQRT3 as SQRT3, Parameters as Parameters
from ._phi import (
    AbstractPhi as AbstractPhi,
    PhiExact as PhiExact,
    PhiInterpolation as PhiInterpolation,
    phi as phi,
    rotation_interpolated as rotation_interpolated,
)
from ._relaxation import (
    averages as averages,
    electron_relaxation_time as electron_relaxation_time,
    electron_relaxation_time_long as electron_relaxation_time_long,
    electron_relaxation_time_lorentzian as electron_relaxation_time_lorentzian,
    electron_relaxation_time_short as electron_relaxation_time_short,
    mean_overhauser_from_beta as mean_overhauser_from_beta,
    nuclear_relaxation_minimum as nuclear_relaxation_minimum,
    nuclear_relaxation_time as nuclear_relaxation_time,
    overhauser_distribution as overhauser_distribution,
    spin_temperature_threshold as spin_temperature_threshold,
)
from ._temperature import (
    beta0 as beta0,
    heat_capacity as heat_capacity,
    heating_rate as heating_rate,
    inverse_spin_temperature as inverse_spin_temperature,
    inverse_spin_temperature_long as inverse_spin_temperature_long,
    inverse_spin_temperature_short as inverse_spin_temperature_short,
    nuclear_polarization as nuclear_polarization,
)
from ._units import (
    effective_nuclei as effective_nuclei,
    electron_field as electron_field,
    heating_time_unit as heating_time_unit,
    inverse_temperature_si as inverse_temperature_si,
    mean_nuclear_spin as mean_nuclear_spin,
    spin_temperature_kelvin as spin_temperature_kelvin,
    t2e_star as t2e_star,
    t2e_star_from_total as t2e_star_from_total,
)
