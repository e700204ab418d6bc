"""[DeLuca16] the ``size="large"`` figures (examples/deluca16.py) on a tiny configuration:
the streamed profile and Fig. 4(b) paths run end to end and write labelled PNGs + data."""

import numpy as np
import pytest

from jaxspin.examples import deluca16 as ex


@pytest.mark.slow
def test_large_figures_tiny_configuration(monkeypatch, tmp_path):
    tiny = {
        "n_spins": 4,
        "n_real": 1,
        "freq_mhz": np.array([-30.0, 0.0, 30.0]),
        "compare_n": 3,
        "compare_real": 2,
        "mbl_sizes": [4, 6],
        "mbl_real_by_n": {4: 2, 6: 1},
    }
    monkeypatch.setitem(ex.SIZES, "large", tiny)
    assert "large" in ex.FIGURE_SIZES
    paths = ex.make_figures(tmp_path, size="large", progress=False)
    names = sorted(p.name for p in paths)
    assert names == [
        "deluca16_large_fig2_profile.npz",
        "deluca16_large_fig2_profile.png",
        "deluca16_large_fig4_mbl.npz",
        "deluca16_large_fig4_mbl.png",
    ]
    prof = np.load(tmp_path / "deluca16_large_fig2_profile.npz")
    assert prof["Pn"].shape == (1, 3) and prof["Pn_small"].shape == (2, 3)
    assert np.all(np.isfinite(prof["Pn"])) and np.ptp(prof["Pn"]) > 1e-4
    mbl = np.load(tmp_path / "deluca16_large_fig4_mbl.npz")
    assert mbl["jumps"].shape == (3, 2) and np.all(mbl["jumps"] > 0)
    assert all((tmp_path / n).stat().st_size > 10_000 for n in names if n.endswith(".png"))
