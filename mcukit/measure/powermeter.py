"""Optional external power meters (Nordic PPK2, Joulescope) and per-inference energy from their traces.

UNTESTED ON HARDWARE: no meter was available when this was written. The trace analysis (`inference_windows`,
`energy_per_inference`) is tested with synthetic traces; the two meter classes only wrap their vendors' documented
Python calls and have never talked to a device. Neither package is a dependency of mcukit: each class imports its
package when constructed and raises DependencyError naming the package to install.

Synchronisation: the meter samples the board's current together with a logic input wired to a GPIO that the firmware
holds high while `mk_model_invoke()` runs (PPK2: logic port D0..D7; Joulescope: general-purpose input 0/1). Each high
stretch of that marker in the trace is one inference; its energy is the sum of I x V over the stretch divided by the
sample rate. The meter and the serial link need no common clock. The firmware side (a HAL call that drives the
marker pin around the invoke) is not written yet: see docs/energy.md.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np

from mcukit.errors import DependencyError, DeviceError, UsageError
from mcukit.measure.energy import Energy, MeasurementError

if TYPE_CHECKING:
    from typing_extensions import Self


@dataclass(frozen=True)
class MeterTrace:
    """Samples at a fixed rate. voltage_v None means a constant supply (supply_v)."""

    meter: str
    sample_rate_hz: float
    current_a: np.ndarray
    voltage_v: np.ndarray | None = None
    supply_v: float | None = None
    marker: np.ndarray | None = None  # bool per sample: True while the firmware is inside an inference


class PowerMeter(ABC):
    """A meter that captures a trace of current (and voltage) with an inference marker."""

    name = "meter"

    @abstractmethod
    def capture(self, seconds: float) -> MeterTrace:
        """Record `seconds` of samples (blocking). Start the device's inferences just before calling it."""

    def close(self) -> None:
        """Release the instrument."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _require(module: str, package: str, meter: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise DependencyError(f"the {meter} power meter needs the Python package {package!r}, which is not installed",
                              f"pip install {package}") from err


class Ppk2Meter(PowerMeter):
    """Nordic Power Profiler Kit II through `ppk2-api` (100 kS/s). source_mv set: source-meter mode, the PPK2 powers
    the board at that voltage; None: ampere-meter mode with the board's own supply (give supply_v)."""

    name = "ppk2"
    SAMPLE_RATE_HZ = 100_000.0

    def __init__(self, port: str | None = None, *, source_mv: int | None = 3000, supply_v: float | None = None,
                 marker_channel: int = 0) -> None:
        mod = _require("ppk2_api.ppk2_api", "ppk2-api", "PPK2")
        if source_mv is None and supply_v is None:
            raise UsageError("a PPK2 in ampere-meter mode needs supply_v", "pass supply_v or source_mv")
        if port is None:
            found = mod.PPK2_API.list_devices()
            if len(found) != 1:
                raise DeviceError(f"found {len(found)} PPK2 devices", "pass the PPK2's serial port explicitly")
            port = found[0][0] if isinstance(found[0], (tuple, list)) else found[0]
        self._ppk = mod.PPK2_API(port, timeout=1, write_timeout=1, exclusive=True)
        self._ppk.get_modifiers()
        if source_mv is not None:
            self._ppk.use_source_meter()
            self._ppk.set_source_voltage(source_mv)
            self._ppk.toggle_DUT_power("ON")
            self.supply_v = source_mv / 1000.0
        else:
            self._ppk.use_ampere_meter()
            self.supply_v = float(supply_v)  # type: ignore[arg-type]
        self.marker_channel = marker_channel

    def capture(self, seconds: float) -> MeterTrace:
        want = int(seconds * self.SAMPLE_RATE_HZ)
        currents: list[float] = []
        bits: list[int] = []
        self._ppk.start_measuring()
        deadline = time.monotonic() + seconds + 5.0
        try:
            while len(currents) < want and time.monotonic() < deadline:
                data = self._ppk.get_data()
                if data:
                    got = self._ppk.get_samples(data)
                    # ppk2-api returns (samples_uA, raw_digital) in recent versions, a plain list in old ones.
                    if isinstance(got, tuple):
                        currents += got[0]
                        bits += got[1]
                    else:
                        currents += got
                time.sleep(0.001)
        finally:
            self._ppk.stop_measuring()
        marker = None
        if len(bits) == len(currents) and bits:
            marker = (np.asarray(bits, dtype=np.int64) >> self.marker_channel & 1).astype(bool)
        return MeterTrace(self.name, self.SAMPLE_RATE_HZ, np.asarray(currents) * 1e-6, None, self.supply_v, marker)

    def close(self) -> None:
        self._ppk.stop_measuring()


class JoulescopeMeter(PowerMeter):
    """Joulescope JS110/JS220 through `joulescope` (`read(..., out_format='samples_get')`). The marker is
    general-purpose input 0 ("current_lsb" in the driver's field names) or 1 ("voltage_lsb")."""

    name = "joulescope"

    def __init__(self, *, marker_input: int = 0) -> None:
        mod = _require("joulescope", "joulescope", "Joulescope")
        if marker_input not in (0, 1):
            raise UsageError(f"Joulescope marker input must be 0 or 1, got {marker_input}", "wire the marker to IN0")
        self._field = ("current_lsb", "voltage_lsb")[marker_input]
        self._js = mod.scan_require_one(config="auto")
        self._js.open()

    def capture(self, seconds: float) -> MeterTrace:
        data = self._js.read(contiguous_duration=seconds, out_format="samples_get",
                             fields=["current", "voltage", self._field])
        signals = data["signals"]
        rate = float(data["time"]["sampling_frequency"]["value"])
        marker = signals.get(self._field, {}).get("value")
        return MeterTrace(self.name, rate, np.asarray(signals["current"]["value"], dtype=np.float64),
                          np.asarray(signals["voltage"]["value"], dtype=np.float64), None,
                          None if marker is None else np.asarray(marker).astype(bool))

    def close(self) -> None:
        self._js.close()


def inference_windows(marker: np.ndarray | Sequence[bool]) -> list[tuple[int, int]]:
    """[start, stop) sample ranges where the marker is high. A stretch cut by the start or end of the trace is
    dropped: only whole inferences count."""
    m = np.asarray(marker, dtype=bool)
    if m.size == 0:
        return []
    edges = np.flatnonzero(np.diff(m.astype(np.int8)))
    rises = [int(i) + 1 for i in edges if not m[i]]
    falls = [int(i) + 1 for i in edges if m[i]]
    return [(r, next(f for f in falls if f > r)) for r in rises if any(f > r for f in falls)]


def energy_per_inference(trace: MeterTrace) -> list[Energy]:
    """One measured Energy per whole marker window of the trace."""
    if trace.marker is None:
        raise MeasurementError(f"the {trace.meter} trace has no inference marker",
                               "wire the firmware's marker GPIO to the meter's logic input")
    if trace.voltage_v is None and trace.supply_v is None:
        raise UsageError("a trace without voltage samples needs supply_v", "pass supply_v to the meter")
    out = []
    for start, stop in inference_windows(trace.marker):
        current = trace.current_a[start:stop]
        volts = trace.voltage_v[start:stop] if trace.voltage_v is not None else np.full(len(current), trace.supply_v)
        seconds = (stop - start) / trace.sample_rate_hz
        joules = float(np.sum(current * volts)) / trace.sample_rate_hz
        mean_ma = float(np.mean(current)) * 1e3
        mean_v = float(np.mean(volts))
        out.append(Energy("measured", joules * 1e6, mean_ma, mean_v, seconds,
                          f"{trace.meter} at {trace.sample_rate_hz:g} Hz, marker window", stop - start))
    if not out:
        raise MeasurementError(f"no complete inference window in the {trace.meter} trace",
                               "capture for longer, or check the marker wiring")
    return out
