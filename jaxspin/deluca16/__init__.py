"""[DeLuca16] Dynamic nuclear polarization in radical-doped solids: the rate master equation
over many-body eigenstates, the spin-temperature ansatz and many-body localization.

A. De Luca, I. Rodríguez-Arias, M. Müller, A. Rosso, "Thermalization and many-body
localization in systems under dynamic nuclear polarization", Phys. Rev. B 94, 014203
(2016). Units: rad/µs and µs (see ``jaxspin/deluca16/_model.py``).
"""

from ._ed import (
    Spectrum as Spectrum,
    check_size as check_size,
    diagonalize as diagonalize,
    sector_hamiltonian as sector_hamiltonian,
    spectrum_bytes as spectrum_bytes,
)
from ._mbl import (
    eigenstate_bytes as eigenstate_bytes,
    eigenstate_polarizations as eigenstate_polarizations,
    level_polarization_jumps as level_polarization_jumps,
)
from ._model import (
    DEFAULT_D_MHZ as DEFAULT_D_MHZ,
    TABLE_I as TABLE_I,
    DeLucaModel as DeLucaModel,
    Parameters as Parameters,
    beta_per_us as beta_per_us,
    equally_spaced_offsets as equally_spaced_offsets,
    mhz as mhz,
    random_model as random_model,
    random_models as random_models,
    table1 as table1,
)
from ._rates import (
    MatrixElements as MatrixElements,
    SteadyState as SteadyState,
    matrix_elements as matrix_elements,
    rate_blocks as rate_blocks,
)
from ._spintemp import (
    SpinTemperature as SpinTemperature,
    ansatz_log_probabilities as ansatz_log_probabilities,
    fit_spin_temperature as fit_spin_temperature,
    kappa as kappa,
    kl_divergence as kl_divergence,
    perturbative_spin_temperature as perturbative_spin_temperature,
)
from ._stationary import (
    Profile as Profile,
    ProfilePoint as ProfilePoint,
    dnp_profile as dnp_profile,
    energy_distribution as energy_distribution,
    magnetization_distribution as magnetization_distribution,
    relaxation_rates as relaxation_rates,
    steady_state as steady_state,
)
from ._streamed import (
    StreamedEstimate as StreamedEstimate,
    StreamedRun as StreamedRun,
    dnp_profile_streamed as dnp_profile_streamed,
    steady_state_streamed as steady_state_streamed,
    streamed_estimate as streamed_estimate,
)
