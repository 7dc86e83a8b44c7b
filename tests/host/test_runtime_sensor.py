"""The runtime's current-sensor wiring end to end, without hardware: the real C runtime built with -DMK_INA219 and
the real INA219 driver (firmware/src/sensors), a TCP host HAL and the fake model (tests/host/loopback/), and an I2C
bus plus inference marker (loopback/host_i2c.c) forwarded over the firmware's stdin/stdout to the register-level
INA219 model of tests/host/ina219/ina219_sim.py. The model's clock follows the firmware's counter, so conversions
complete in firmware time. The Python DeviceSession drives the firmware; SENSOR records are decoded with
mcukit.measure.ina219.decode_records and turned into energy with mcukit.measure.energy.measured_energy.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mcukit.boards import CurrentSensor
from mcukit.device import DeviceSession
from mcukit.device.operations import SampleResult
from mcukit.measure import ina219 as host
from mcukit.measure.energy import measured_energy

ROOT = Path(__file__).resolve().parents[2]
LOOP = Path(__file__).resolve().parent / "loopback"
sys.path.insert(0, str(Path(__file__).resolve().parent / "ina219"))
from ina219_sim import Ina219Sim
from test_runtime_loopback import FaultProxy, _expected, _samples, at

SHUNT_OHMS = 0.1
BUS_V = 3.3
MAX_PAYLOAD = 256
SENSOR = CurrentSensor("ina219", 0x40, SHUNT_OHMS)
PREPARED = {
    # The generator's default is the full 320 mV scale; a 0.4 A maximum gives a finer current LSB (12.2 uA).
    "continuous": host.prepare(SENSOR, max_expected_a=0.4),
    "triggered": host.prepare(SENSOR, max_expected_a=0.4, mode="triggered"),
    # 9-bit conversions (84 us each, 168 us for shunt + bus): shorter than every fake layer (300/600/900 us), so a
    # profiled invoke samples after each layer.
    "fast": host.prepare(SENSOR, max_expected_a=0.4, adc="9bit"),
}
# Current resolution: the shunt register's 10 uV step over 0.1 ohm is 0.1 mA; the current register adds one LSB.
TOLERANCE_MA = 0.1 + 0.0123


def _build(out: Path, *defines: str, sensors: bool = True) -> Path:
    sources = sorted((ROOT / "firmware/src/runtime").glob("*.c"))
    if sensors:
        sources += sorted((ROOT / "firmware/src/sensors").glob("*.c"))
    sources += [LOOP / "host_hal.c", LOOP / "fake_model.c", LOOP / "host_i2c.c"]
    cmd = ["gcc", "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", f"-I{ROOT / 'firmware/include'}",
           f"-DMK_FRAME_MAX_PAYLOAD={MAX_PAYLOAD}", *(f"-D{d}" for d in defines), *map(str, sources), "-o", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out


def _sensor_defines(p: host.Ina219Prepared) -> list[str]:
    return ["MK_INA219", *(f"{k}={v}" for k, v in p.c_defines().items())]


@pytest.fixture(scope="module")
def firmware(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if shutil.which("gcc") is None:
        pytest.skip("host gcc not installed")
    d = tmp_path_factory.mktemp("sensor")
    exes = {name: _build(d / f"fw-{name}", *_sensor_defines(p)) for name, p in PREPARED.items()}
    # No MK_INA219 and no sensor sources: it must still link (the runtime references no sensor code) and toggle the
    # marker, which host_i2c.c provides.
    exes["plain"] = _build(d / "fw-plain", sensors=False)
    return exes


@dataclass
class Request:
    kind: str  # "W", "R" or "M"
    t_us: int
    args: tuple[int, ...] = ()


@dataclass
class Bridge:
    """Runs a firmware and answers its I2C and marker requests with an INA219 model. With `levels` (idle, active
    amperes) the marker switches the simulated load current; otherwise it stays at sim.current_a."""

    exe: Path
    sim: Ina219Sim
    levels: tuple[float, float] | None = None
    requests: list[Request] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.proc = subprocess.Popen([str(self.exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=dict(os.environ, MK_FAKE_FAULT=""))
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode()
        assert line.startswith("PORT "), line
        self.port = int(line.split()[1])
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        assert self.proc.stdout is not None and self.proc.stdin is not None
        try:
            for raw in self.proc.stdout:
                reply = self._answer(raw.decode().split())
                self.proc.stdin.write(reply.encode())
                self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass  # the firmware exited
        except Exception as exc:  # noqa: BLE001 - reported by stop()
            self.errors.append(exc)

    def _answer(self, parts: list[str]) -> str:
        kind, t = parts[0], int(parts[1])
        with self.lock:
            if t > self.sim.now_us:  # the model's clock follows the firmware's counter
                self.sim.advance(t - self.sim.now_us)
            if kind == "M":
                on = int(parts[2])
                self.requests.append(Request("M", t, (on,)))
                if self.levels is not None:
                    self.sim.current_a = self.levels[on]
                return "0\n"
            addr, reg = int(parts[2]), int(parts[3])
            if kind == "W":
                data = b"" if parts[4] == "-" else bytes.fromhex(parts[4])
                self.requests.append(Request("W", t, (addr, reg)))
                return f"{self.sim.i2c_write(addr, reg, data)}\n"
            got = self.sim.i2c_read(addr, reg, int(parts[4]))
            self.requests.append(Request("R", t, (addr, reg)))
            return f"{got}\n" if isinstance(got, int) else f"0 {got.hex()}\n"

    def markers(self) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.kind == "M"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)
        self.thread.join(5)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                try:
                    stream.close()
                except BrokenPipeError:
                    pass
        assert not self.errors, self.errors


@pytest.fixture
def start(firmware: dict[str, Path]) -> Iterator[Callable[..., Bridge]]:
    started: list[Bridge] = []

    def _start(variant: str, sim: Ina219Sim, levels: tuple[float, float] | None = None) -> Bridge:
        bridge = Bridge(firmware[variant], sim, levels)
        started.append(bridge)
        return bridge

    yield _start
    for bridge in started:
        bridge.stop()


def _sim(current_a: float = 0.0, address: int = 0x40) -> Ina219Sim:
    # transaction_us = 0: the firmware's own clock already includes the time each transfer took.
    return Ina219Sim(address=address, shunt_ohms=SHUNT_OHMS, transaction_us=0, current_a=current_a, bus_v=BUS_V)


def _open(port: int, reply_timeout: float = 2.0) -> DeviceSession:
    return DeviceSession.open(f"socket://127.0.0.1:{port}", connect_timeout=5.0, reply_timeout=reply_timeout,
                              invoke_timeout=5.0, retries=2, timeout_retries=1)


def _decode(r: SampleResult, p: host.Ina219Prepared) -> list[host.Ina219Sample]:
    return host.decode_records(r.sensor, SHUNT_OHMS, expect_calibration=p.calibration.calibration)


def _period_us(p: host.Ina219Prepared) -> float:
    return p.settings.conversion_s * 1e6


# ---- a constant load: every sample reads it, energy = I x V x window ----


@pytest.mark.parametrize("variant", ["continuous", "triggered"])
def test_samples_decode_to_the_simulated_current_and_energy(start, variant: str) -> None:
    p = PREPARED[variant]
    current_a = 0.1234
    bridge = start(variant, _sim(current_a))
    session = _open(bridge.port)
    session.handshake()
    text = list(session.link.text_lines)
    assert any(line.startswith(f"mk: INA219 at 0x40 ready, calibration 0x{p.calibration.calibration:04x}")
               for line in text), text
    # The runtime configured the device with the prepared words.
    assert (bridge.sim.config, bridge.sim.calibration) == (p.config_word, p.calibration.calibration)

    samples = _samples(3)
    run = session.run_samples(samples)
    profiled = session.profile(_samples(1, seed=5)[0])
    for r in (*run.samples, profiled):
        if r in run.samples:
            assert r.outputs == _expected(samples[r.index])
        decoded = _decode(r, p)
        # A calibration record, then four records per sample: before and after the window, plus between layers
        # when profiled (at most one per conversion: the fake model has 3 layers in 1.8 ms).
        assert len(r.sensor) == 1 + 4 * len(decoded)
        assert (len(decoded) == 2) if not r.layers else (3 <= len(decoded) <= 4)
        assert [s.counter for s in decoded] == sorted(s.counter for s in decoded)
        for s in decoded:
            assert not s.overflow
            # The raw registers as the device holds them, and their conversion to the simulated physical values.
            assert (s.shunt_raw, s.current_raw, s.power_raw) == (bridge.sim.shunt, bridge.sim.current,
                                                                  bridge.sim.power)
            assert s.current_ma == pytest.approx(current_a * 1e3, abs=TOLERANCE_MA)
            assert s.bus_v == pytest.approx(BUS_V)
        assert r.seconds >= 1800e-6  # the fake layers sleep 300 + 600 + 900 us
        energy = measured_energy(decoded, r.seconds, basis="simulated INA219")
        expected_uj = current_a * BUS_V * r.seconds * 1e6
        assert energy.source == "measured" and energy.samples == len(decoded)
        assert energy.uj_per_inference == pytest.approx(expected_uj, rel=2e-3)
        assert energy.mean_power_mw == pytest.approx(current_a * BUS_V * 1e3, rel=2e-3)
    # Profiled: samples between layers are at least one conversion apart (reading sooner would repeat one).
    inner = [s.counter for s in _decode(profiled, p)[:-1]]
    assert all(b - a >= _period_us(p) for a, b in itertools.pairwise(inner))
    if variant == "triggered":  # every sample restarts a conversion (a config write) for the next one to read
        writes = [r for r in bridge.requests if r.kind == "W" and r.args[1] == host.REG_CONFIG]
        assert len(writes) >= 2 + sum(len(_decode(r, p)) for r in (*run.samples, profiled))
    assert session.close() is True
    assert bridge.proc.wait(5) == 0


# ---- a load switched by the marker: the marker brackets the window, samples see the load change ----


def test_marker_brackets_the_invoke_and_samples_follow_the_load(start) -> None:
    p = PREPARED["fast"]
    idle_a, active_a = 0.020, 0.150
    bridge = start("fast", _sim(idle_a), levels=(idle_a, active_a))
    period = _period_us(p)
    with _open(bridge.port) as session:
        session.handshake()
        results = [session.profile(s, index=i) for i, s in enumerate(_samples(3))]
        results += [session.run_sample(s, index=3 + i) for i, s in enumerate(_samples(2, seed=9))]
        markers = bridge.markers()
        requests = list(bridge.requests)
    assert [m.args[0] for m in markers] == [1, 0] * len(results)
    for k, r in enumerate(results):
        on, off = markers[2 * k].t_us, markers[2 * k + 1].t_us
        decoded = _decode(r, p)
        before, inner, after = decoded[0], decoded[1:-1], decoded[-1]
        # Baseline before the marker rises, closing sample after it falls, the others inside.
        assert before.counter < on and after.counter > off
        assert all(on < s.counter < off for s in inner)
        for s in decoded:  # every reading is one of the two loads
            assert min(abs(s.current_ma - idle_a * 1e3), abs(s.current_ma - active_a * 1e3)) <= TOLERANCE_MA
        if k == 0:  # the load was idle since start-up
            assert before.current_ma == pytest.approx(idle_a * 1e3, abs=TOLERANCE_MA)
        if r.layers:
            # One sample after each layer: every layer is longer than a conversion.
            assert len(inner) == 3
            # A conversion completed after the marker rose reads the active load.
            late = [s for s in inner if s.counter - on >= period]
            assert late
            for s in late:
                assert s.current_ma == pytest.approx(active_a * 1e3, abs=TOLERANCE_MA)
            energy = measured_energy(late, r.seconds)
            assert energy.uj_per_inference == pytest.approx(active_a * BUS_V * r.seconds * 1e6, rel=2e-3)
            # Sampling between layers is taken out of the reported time: the window minus the time the reads of
            # each inner sample took (from the firmware's own timestamps on the I2C requests) still covers it.
            spent = 0
            for s in inner:
                reads = [q.t_us for q in requests if q.kind == "R" and s.counter <= q.t_us < off]
                spent += reads[3] - reads[0]
            assert r.ticks + spent <= off - on
            assert sum(x.ticks for x in r.layers) <= r.ticks
        else:
            assert inner == []
        assert off - on >= r.ticks


# ---- no sensor, and no MK_INA219 ----


def test_missing_sensor_is_reported_and_the_run_goes_on(start) -> None:
    bridge = start("continuous", _sim(0.05, address=0x41))  # nothing answers at 0x40
    with _open(bridge.port) as session:
        session.handshake()
        assert any(line.startswith("mk: INA219 at 0x40 not answering") for line in session.link.text_lines)
        samples = _samples(2)
        run = session.run_samples(samples)
        assert [r.outputs for r in run.samples] == [_expected(s) for s in samples]
        assert all(r.sensor == () for r in run.samples)
        assert len(bridge.markers()) == 4  # the marker does not depend on the sensor
        # The sensor appears (wired or powered late): the next handshake finds it and invokes carry samples.
        bridge.sim.address = 0x40
        session.handshake()
        assert any(line.startswith("mk: INA219 at 0x40 ready") for line in session.link.text_lines)
        r = session.run_sample(_samples(1, seed=4)[0])
        decoded = _decode(r, PREPARED["continuous"])
        assert len(decoded) == 2
        assert all(s.current_ma == pytest.approx(50.0, abs=TOLERANCE_MA) for s in decoded)


def test_without_mk_ina219_there_is_no_i2c_traffic_and_no_records(start) -> None:
    bridge = start("plain", _sim(0.05))
    with _open(bridge.port) as session:
        session.handshake()
        assert not any("INA219" in line for line in session.link.text_lines)
        profiled = session.profile(_samples(1)[0])
        plain = session.run_sample(_samples(1, seed=2)[0])
    assert profiled.sensor == () and plain.sensor == ()
    assert [q.kind for q in bridge.requests] == ["M"] * 4


def test_a_replayed_invoke_resends_its_sensor_records(start) -> None:
    # Device -> host frames per sample: 5 INPUT_ACKs, 5 OUTPUTs, 9 SENSORs (calibration + 2 x 4), TIMING. Corrupting
    # sample 1's TIMING makes the host ask again; the device replays the answer without running the model again.
    p = PREPARED["continuous"]
    bridge = start("continuous", _sim(0.0777))
    timing_frame = 1 + 20 * 1 + 19
    proxy = FaultProxy(bridge.port, d2h=at(timing_frame, 9, "flip"))
    with _open(proxy.port, reply_timeout=0.5) as session:
        session.handshake()
        samples = _samples(3)
        run = session.run_samples(samples)
        assert session.resends >= 1
        assert run.end.invokes == 3
    proxy.close()
    assert [r.outputs for r in run.samples] == [_expected(s) for s in samples]
    for r in run.samples:
        decoded = _decode(r, p)
        assert len(decoded) == 2 and len(r.sensor) == 9
        assert all(s.current_ma == pytest.approx(77.7, abs=TOLERANCE_MA) for s in decoded)
    assert len(bridge.markers()) == 6  # three invokes ran, the replay did not run the model
