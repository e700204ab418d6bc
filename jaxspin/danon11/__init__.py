"""Nuclear spin pumping from electron spin susceptibility and fluctuations [Danon11].

J. Danon and Yu. V. Nazarov, "Nuclear spin pumping and electron spin susceptibilities"
(Phys. Rev. B 83, 245306 (2011)). Generic physics: :func:`spin_response` (S, χ, R of
Eq. (3) for any Lindbladian), :func:`nuclear_coefficients` / :func:`nuclear_rate`
(Eq. (1), (2), (9), (10)). Models: :class:`SingleDot` (Eq. (13)-(20)),
:class:`DoubleDot` (Eq. (21)-(25)). Feedback dynamics: :func:`build_up`,
:func:`fixed_points`, :func:`hysteresis`. Fit: :func:`fit_build_up`.
"""

from ._buildup_fit import build_up_curve as build_up_curve, fit_build_up as fit_build_up
from ._double_dot import DoubleDot as DoubleDot
from ._feedback import (
    FixedPoints as FixedPoints,
    Hysteresis as Hysteresis,
    build_up as build_up,
    fixed_points as fixed_points,
    follow_branch as follow_branch,
    hysteresis as hysteresis,
)
from ._model import AbstractDotModel as AbstractDotModel
from ._nuclear import (
    NuclearCoefficients as NuclearCoefficients,
    nuclear_coefficients as nuclear_coefficients,
    nuclear_rate as nuclear_rate,
)
from ._response import (
    SpinResponse as SpinResponse,
    spin_response as spin_response,
    spin_response_single as spin_response_single,
)
from ._single_dot import SingleDot as SingleDot
