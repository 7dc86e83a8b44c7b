"""Energy figures (mcukit.measure.energy) and the optional power meters' trace analysis (mcukit.measure.powermeter).
The meters themselves need hardware; only their missing-package errors are tested here."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from mcukit.boards import load_boards
from mcukit.errors import DependencyError, UsageError
from mcukit.measure.energy import Energy, MeasurementError, measured_energy, modeled_energy, modeled_energy_for_board
from mcukit.measure.ina219 import Ina219Sample
from mcukit.measure.powermeter import (
    JoulescopeMeter,
    MeterTrace,
    Ppk2Meter,
    energy_per_inference,
    inference_windows,
)


def test_modeled_energy_worked_example() -> None:
    # 52 uA/MHz at 64 MHz = 3.328 mA; 1e6 cycles at 64 MHz = 15.625 ms; 3.0 V x 3.328 mA x 15.625 ms = 156 uJ.
    e = modeled_energy(1_000_000, 64_000_000, 52.0, 3.0, basis="test")
    assert e.source == "modeled"
    assert e.mean_current_ma == pytest.approx(3.328)
    assert e.seconds == pytest.approx(15.625e-3)
    assert e.uj_per_inference == pytest.approx(156.0)
    assert e.mean_power_mw == pytest.approx(3.0 * 3.328)
    assert "estimated cycles" in e.basis and e.basis.endswith("test")


def test_modeled_energy_does_not_depend_on_the_clock() -> None:
    a = modeled_energy(2_500_000, 16_000_000, 30.0, 1.8)
    b = modeled_energy(2_500_000, 480_000_000, 30.0, 1.8)
    assert a.uj_per_inference == pytest.approx(b.uj_per_inference)
    assert a.seconds == pytest.approx(30 * b.seconds)


def test_modeled_energy_for_board_cites_the_datasheet() -> None:
    nano = load_boards()["nano33"]
    e = modeled_energy_for_board(nano, 640_000, cycles_basis="cortex-m4 timing model")
    assert e.uj_per_inference == pytest.approx(nano.power.supply_v * nano.power.active_ua_per_mhz * 640_000 * 1e-6)
    assert nano.power.source in e.basis and "cortex-m4 timing model" in e.basis
    assert e.to_dict()["source"] == "modeled"


def test_modeled_energy_rejects_nonsense() -> None:
    with pytest.raises(UsageError, match="clock_hz"):
        modeled_energy(1000, 0, 50.0, 3.3)
    with pytest.raises(UsageError, match="supply_v"):
        modeled_energy(1000, 1e6, 50.0, float("nan"))


def _s(current_raw: int, bus_v: float, lsb: float = 1e-4, ovf: bool = False) -> Ina219Sample:
    return Ina219Sample(0, 0, 0, (round(bus_v / 4e-3) << 3) | int(ovf), current_raw, 0, lsb)


def test_measured_energy_with_a_fixed_supply() -> None:
    e = measured_energy([10.0, 12.0, 14.0], 0.02, supply_v=3.3, basis="INA219")
    # mean 12 mA x 3.3 V x 20 ms = 0.792 mJ
    assert e.source == "measured" and e.samples == 3
    assert e.uj_per_inference == pytest.approx(792.0)
    assert e.mean_current_ma == pytest.approx(12.0) and e.supply_v == 3.3
    assert e.basis == "INA219, 3 samples"


def test_measured_energy_uses_each_samples_bus_voltage_without_a_supply() -> None:
    samples = [_s(100, 3.2), _s(300, 3.0)]  # 10 mA at 3.2 V, 30 mA at 3.0 V (100 uA per LSB)
    e = measured_energy(samples, 0.01)
    assert e.uj_per_inference == pytest.approx((10 * 3.2 + 30 * 3.0) / 2 * 0.01 * 1e3)
    assert e.mean_current_ma == pytest.approx(20.0)
    assert e.supply_v == pytest.approx((10 * 3.2 + 30 * 3.0) / 2 / 20)
    assert measured_energy(samples, 0.01, supply_v=3.3).uj_per_inference == pytest.approx(20 * 3.3 * 10)


def test_measured_energy_refuses_what_it_cannot_trust() -> None:
    with pytest.raises(MeasurementError, match="overflow"):
        measured_energy([_s(100, 3.3), _s(32767, 3.3, ovf=True)], 0.01)
    with pytest.raises(MeasurementError, match="calibrated"):
        measured_energy([Ina219Sample(0, 0, 0, 8, 0, 0, None)], 0.01)
    with pytest.raises(MeasurementError, match="no current samples"):
        measured_energy([], 0.01)
    with pytest.raises(UsageError, match="supply_v"):
        measured_energy([5.0], 0.01)
    with pytest.raises(UsageError, match="window"):
        measured_energy([5.0], 0.0, supply_v=3.3)


# ---- power meter traces ----


def test_inference_windows_keep_only_whole_stretches() -> None:
    marker = [1, 1, 0, 0, 1, 1, 1, 0, 1, 0, 0, 1, 1]
    assert inference_windows(marker) == [(4, 7), (8, 9)]
    assert inference_windows([]) == [] and inference_windows([0, 0]) == [] and inference_windows([1, 1]) == []


def test_energy_per_inference_from_a_synthetic_trace() -> None:
    rate = 100_000.0
    n = 5000
    current = np.full(n, 1e-3)  # 1 mA idle
    marker = np.zeros(n, dtype=bool)
    windows = [(1000, 1800), (3000, 4200)]  # 8 ms and 12 ms inferences at 6 mA
    for a, b in windows:
        current[a:b] = 6e-3
        marker[a:b] = True
    const = MeterTrace("ppk2", rate, current, None, 3.0, marker)
    energies = energy_per_inference(const)
    assert [e.samples for e in energies] == [800, 1200]
    assert [e.uj_per_inference for e in energies] == pytest.approx([6e-3 * 3.0 * 8e-3 * 1e6, 6e-3 * 3.0 * 12e-3 * 1e6])
    assert all(isinstance(e, Energy) and e.source == "measured" and "ppk2" in e.basis for e in energies)
    volts = np.linspace(3.3, 3.1, n)
    traced = MeterTrace("joulescope", rate, current, volts, None, marker)
    first = energy_per_inference(traced)[0]
    assert first.uj_per_inference == pytest.approx(float(np.sum(6e-3 * volts[1000:1800])) / rate * 1e6)


def test_energy_per_inference_needs_a_marker() -> None:
    with pytest.raises(MeasurementError, match="marker"):
        energy_per_inference(MeterTrace("ppk2", 1e5, np.zeros(10), None, 3.0, None))
    with pytest.raises(MeasurementError, match="no complete"):
        energy_per_inference(MeterTrace("ppk2", 1e5, np.zeros(10), None, 3.0, np.ones(10, dtype=bool)))


@pytest.mark.parametrize(("cls", "module", "package"), [(Ppk2Meter, "ppk2_api", "ppk2-api"),
                                                         (JoulescopeMeter, "joulescope", "joulescope")])
def test_meters_without_their_package_raise_dependency_error(monkeypatch: pytest.MonkeyPatch, cls: type,
                                                             module: str, package: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import of a None entry raises ImportError
    monkeypatch.setitem(sys.modules, f"{module}.{module}", None)
    with pytest.raises(DependencyError, match=package) as info:
        cls()
    assert info.value.hint == f"pip install {package}"
