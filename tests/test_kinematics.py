import awkward as ak
import numpy as np
import pytest

from dltrigger.physics.isolation import jagged_cone_sums
from dltrigger.physics.kinematics import (
    delta_phi,
    delta_r,
    eta,
    invariant_mass,
    transverse_mass,
)


def test_delta_phi_wraps_at_pi():
    assert delta_phi(3.0, -3.0) == pytest.approx(6.0 - 2 * np.pi)
    assert delta_phi(-3.0, 3.0) == pytest.approx(2 * np.pi - 6.0)
    assert delta_phi(0.5, 0.2) == pytest.approx(0.3)
    values = delta_phi(np.linspace(-10, 10, 101), 0.0)
    assert np.all((values >= -np.pi) & (values <= np.pi))


def test_delta_r_across_the_phi_boundary():
    assert delta_r(0.0, 3.1, 0.0, -3.1) == pytest.approx(2 * np.pi - 6.2)
    assert delta_r(1.0, 0.0, 0.0, 0.0) == pytest.approx(1.0)


def test_transverse_mass_hand_computed():
    # Back to back, equal pT: mT = 2 pT. Collinear: mT = 0.
    assert transverse_mass(40.0, 0.0, 40.0, np.pi) == pytest.approx(80.0)
    assert transverse_mass(40.0, 1.0, 25.0, 1.0) == pytest.approx(0.0, abs=1e-6)
    # At 90 degrees: sqrt(2 * 30 * 20).
    assert transverse_mass(30.0, 0.0, 20.0, np.pi / 2) == pytest.approx(np.sqrt(1200.0))


def test_eta_and_mass():
    assert eta(1.0, 0.0, 0.0) == pytest.approx(0.0)
    assert eta(1.0, 0.0, np.sinh(2.0)) == pytest.approx(2.0)
    assert np.isfinite(eta(0.0, 0.0, 5.0))
    assert invariant_mass(5.0, 0.0, 0.0, 3.0) == pytest.approx(4.0)


def test_cone_sums_hand_computed_event():
    # One lepton (pT 50 at eta 0, phi 3.1), its own track, a track in the cone across the
    # phi boundary, one outside, and a photon inside.
    lepton = ak.Array([{"eta": [0.0], "phi": [3.1]}])
    cands = ak.Array(
        [{"pt": [50.0, 5.0, 10.0, 2.0], "eta": [0.0, 0.1, 0.0, 0.1], "phi": [3.1, -3.1, 2.7, 3.1]}]
    )
    # In cone: own track 50, 5 (dR = hypot(0.1, 0.083) < 0.3), photon 2; 10 is outside.
    assert ak.to_list(jagged_cone_sums(lepton, cands, 0.3)) == [[pytest.approx(57.0)]]
    # Wrapping at 2 pi (the reference's quirk 2) misses the track across the boundary.
    assert ak.to_list(jagged_cone_sums(lepton, cands, 0.3, wrap_at_pi=False)) == [
        [pytest.approx(52.0)]
    ]
