"""Energy per inference, and where each figure comes from.

Two sources, never mixed and always labelled (`Energy.source`):
  * "modeled": a datasheet run-mode current (uA/MHz, from the board file) x supply voltage x inference time, the
    time being estimated cycles / clock. No measurement is involved; `basis` names the datasheet and the cycle
    estimate.
  * "measured": samples of a current sensor (INA219 records from the device, or an external meter) averaged over
    the inference window. `basis` names the instrument and the sample count.
Formulas and caveats: docs/energy.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

from mcukit.boards import Board
from mcukit.errors import McukitError, UsageError

Source = Literal["modeled", "measured"]


class MeasurementError(McukitError):
    """Sensor data that cannot give an energy figure (overflowed, missing calibration, empty window)."""


@dataclass(frozen=True)
class Energy:
    """Energy of one inference. uj_per_inference = supply_v x mean_current_ma x seconds x 1000 (mW x s = mJ, and
    1 mJ = 1000 uJ) when the supply voltage is constant; measured figures may use per-sample bus voltages instead."""

    source: Source
    uj_per_inference: float
    mean_current_ma: float
    supply_v: float  # the voltage used (mean bus voltage for measured figures without a fixed supply)
    seconds: float  # inference time the energy covers
    basis: str  # where the figures come from: datasheet, cycle estimate, sensor, sample count
    samples: int | None = None  # sensor samples averaged (measured only)

    @property
    def mean_power_mw(self) -> float:
        return self.uj_per_inference / self.seconds / 1e3 if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def modeled_energy(
    estimated_cycles: float,
    clock_hz: float,
    active_ua_per_mhz: float,
    supply_v: float,
    *,
    basis: str = "",
) -> Energy:
    """Datasheet model: I = active_ua_per_mhz x f_MHz, t = cycles / f, E = V x I x t.

    The clock cancels (E = V x uA_per_MHz x cycles x 1e-12 J), which is the model's claim that run current scales
    linearly with frequency; it ignores memory wait states, peripherals and leakage beyond the datasheet figure.
    """
    for name, value in (("estimated_cycles", estimated_cycles), ("clock_hz", clock_hz),
                        ("active_ua_per_mhz", active_ua_per_mhz), ("supply_v", supply_v)):
        if not math.isfinite(value) or value < 0 or (value == 0 and name != "estimated_cycles"):
            raise UsageError(f"modeled energy needs a positive {name}, got {value}", "check the board's [power] table")
    seconds = estimated_cycles / clock_hz
    mean_current_ma = active_ua_per_mhz * (clock_hz / 1e6) / 1e3
    uj = supply_v * mean_current_ma * seconds * 1e3
    text = f"{active_ua_per_mhz:g} uA/MHz at {supply_v:g} V x {estimated_cycles:.0f} estimated cycles"
    return Energy("modeled", uj, mean_current_ma, supply_v, seconds, f"{text}; {basis}" if basis else text)


def modeled_energy_for_board(board: Board, estimated_cycles: float, *, cycles_basis: str = "") -> Energy:
    """modeled_energy with the board's clock and [power] figures; basis cites the board's datasheet source."""
    basis = f"{board.name}: {board.power.source}"
    if cycles_basis:
        basis += f"; cycles: {cycles_basis}"
    return modeled_energy(estimated_cycles, board.clock_hz, board.power.active_ua_per_mhz, board.power.supply_v,
                          basis=basis)


class CurrentSampleLike(Protocol):
    """What measured_energy reads from a sample (mcukit.measure.ina219.Ina219Sample fits)."""

    @property
    def current_ma(self) -> float | None: ...


def measured_energy(
    samples: Sequence[CurrentSampleLike | float],
    window_s: float,
    supply_v: float | None = None,
    *,
    basis: str = "current sensor",
) -> Energy:
    """Mean of current samples taken during the inference window, times the window and a voltage.

    Samples are plain currents in mA or sensor samples with `current_ma` (and optionally `bus_v`, `overflow`).
    With supply_v the energy is supply_v x mean current x window (the energy drawn from that supply); without it,
    each sample's own bus voltage x current is averaged (the energy delivered to the load after the shunt). Samples
    are weighted equally, so they must be evenly spaced over the window. An overflowed sample (INA219 OVF) or one
    without a calibrated current is refused rather than averaged.
    """
    if not window_s > 0 or not math.isfinite(window_s):
        raise UsageError(f"the inference window must be positive, got {window_s} s", "pass the measured time")
    if not samples:
        raise MeasurementError("no current samples in the inference window",
                               "sample during the invoke (mk_ina219_log_sample) or lengthen the window")
    currents: list[float] = []
    powers: list[float] = []
    for i, s in enumerate(samples):
        if isinstance(s, (int, float)):
            currents.append(float(s))
            if supply_v is None:
                raise UsageError("plain current samples need supply_v", "pass the supply voltage")
            continue
        if getattr(s, "overflow", False):
            raise MeasurementError(f"sample {i} overflowed (INA219 OVF flag): its current and power are meaningless",
                                   "prepare with a larger max_expected_a (or a larger PGA range)")
        current = s.current_ma
        if current is None:
            raise MeasurementError(f"sample {i} has no calibrated current",
                                   "the device sent no calibration record; pass expect_calibration when decoding")
        currents.append(current)
        if supply_v is None:
            bus_v = getattr(s, "bus_v", None)
            if bus_v is None:
                raise UsageError("samples without a bus voltage need supply_v", "pass the supply voltage")
            powers.append(bus_v * current)
    mean_ma = sum(currents) / len(currents)
    if supply_v is not None:
        volts = supply_v
        mean_mw = supply_v * mean_ma
    else:
        mean_mw = sum(powers) / len(powers)
        volts = mean_mw / mean_ma if mean_ma else 0.0
    uj = mean_mw * window_s * 1e3
    return Energy("measured", uj, mean_ma, volts, window_s, f"{basis}, {len(currents)} samples", len(currents))
