"""The INA219 C driver (firmware/src/sensors) against a register-level simulated device (tests/host/ina219/).

The driver and a simulated I2C bus are compiled with the host gcc into a shared library; every I2C transfer calls
back into the Python model of the INA219. Checked: reset/configuration/calibration and their read-back, current and
bus-voltage readings over the whole range (negative currents included) converted by mcukit.measure.ina219, the
CNVR/OVF flags, triggered conversions with polling, and SENSOR records end to end: C encoder -> frames -> host
framing + protocol decoder -> INA219 decoder -> amperes and volts.
"""

from __future__ import annotations

import ctypes
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcukit.boards import CurrentSensor
from mcukit.device.framing import Frame, FrameDecoder
from mcukit.device.protocol import SensorSample, decode
from mcukit.measure import ina219 as host
from mcukit.measure.energy import MeasurementError, measured_energy

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent / "ina219"
sys.path.insert(0, str(HERE))
from ina219_sim import Ina219Sim

OK, ERR_I2C, ERR_VERIFY, ERR_TIMEOUT = 0, -1, -2, -3
SHUNT_OHMS = 0.1

WRITE_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint8, ctypes.c_uint8, ctypes.POINTER(ctypes.c_uint8),
                            ctypes.c_size_t)
READ_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint8, ctypes.c_uint8, ctypes.POINTER(ctypes.c_uint8),
                           ctypes.c_size_t)


class Dev(ctypes.Structure):
    _fields_ = [("address", ctypes.c_uint8), ("config", ctypes.c_uint16), ("calibration", ctypes.c_uint16)]


class Reading(ctypes.Structure):
    _fields_ = [("shunt", ctypes.c_int16), ("bus", ctypes.c_uint16), ("current", ctypes.c_int16),
                ("power", ctypes.c_uint16)]


class Entry(ctypes.Structure):
    _fields_ = [("counter", ctypes.c_uint32), ("s", Reading)]


class Log(ctypes.Structure):
    _fields_ = [("dev", ctypes.POINTER(Dev)), ("entries", ctypes.POINTER(Entry)), ("capacity", ctypes.c_uint16),
                ("count", ctypes.c_uint16), ("dropped", ctypes.c_uint16), ("errors", ctypes.c_uint16)]


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory) -> ctypes.CDLL:
    out = tmp_path_factory.mktemp("ina219") / "libina219sim.so"
    sources = [ROOT / "firmware/src/sensors/mk_ina219.c", ROOT / "firmware/src/sensors/mk_ina219_send.c",
               ROOT / "firmware/src/runtime/mk_frame.c", ROOT / "firmware/src/runtime/mk_crc.c",
               HERE / "sim_i2c.c"]
    cmd = ["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared",
           f"-I{ROOT / 'firmware/include'}", *map(str, sources), "-o", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    so = ctypes.CDLL(str(out))
    so.sim_set_bus.argtypes = [WRITE_FN, READ_FN]
    so.mk_ina219_init.argtypes = [ctypes.POINTER(Dev)]
    so.mk_ina219_read.argtypes = [ctypes.POINTER(Dev), ctypes.POINTER(Reading)]
    so.mk_ina219_sample.argtypes = [ctypes.POINTER(Dev), ctypes.c_uint32, ctypes.POINTER(Reading)]
    so.mk_ina219_log_init.argtypes = [ctypes.POINTER(Log), ctypes.POINTER(Dev), ctypes.POINTER(Entry),
                                      ctypes.c_uint16]
    so.mk_ina219_log_sample.argtypes = [ctypes.POINTER(Log), ctypes.c_uint32]
    so.mk_ina219_log_send.argtypes = [ctypes.POINTER(Log), ctypes.c_uint8, ctypes.c_uint8]
    so.mk_ina219_log_send.restype = ctypes.c_uint32
    so.mk_sensor_payload.argtypes = [ctypes.c_char_p, ctypes.c_uint32, ctypes.c_uint8, ctypes.c_uint8, ctypes.c_int32]
    so.sim_take_output.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    so.sim_take_output.restype = ctypes.c_long
    return so


class Bus:
    """Connects the C bus to a simulator; keeps the ctypes callbacks alive while in use."""

    def __init__(self, lib: ctypes.CDLL, sim: Ina219Sim) -> None:
        self.sim = sim
        self.errors: list[Exception] = []

        def write(addr: int, reg: int, data: ctypes._Pointer, n: int) -> int:
            try:
                return sim.i2c_write(addr, reg, bytes(data[i] for i in range(n)))
            except Exception as exc:  # noqa: BLE001 - cannot cross into C: recorded, checked by the fixture
                self.errors.append(exc)
                return -2

        def read(addr: int, reg: int, data: ctypes._Pointer, n: int) -> int:
            try:
                got = sim.i2c_read(addr, reg, n)
            except Exception as exc:  # noqa: BLE001 - as above
                self.errors.append(exc)
                return -2
            if isinstance(got, int):
                return got
            for i, b in enumerate(got):
                data[i] = b
            return 0

        self._w, self._r = WRITE_FN(write), READ_FN(read)
        lib.sim_set_bus(self._w, self._r)


@pytest.fixture
def bus(lib: ctypes.CDLL) -> Iterator[Bus]:
    b = Bus(lib, Ina219Sim(address=0x40, shunt_ohms=SHUNT_OHMS))
    yield b
    assert not b.errors, b.errors


def _prepared(max_a: float = 0.4, mode: str = "continuous", adc: str = "12bit") -> host.Ina219Prepared:
    return host.prepare(CurrentSensor("ina219", 0x40, SHUNT_OHMS), max_expected_a=max_a, mode=mode, adc=adc)


def _dev(p: host.Ina219Prepared) -> Dev:
    return Dev(p.address, p.config_word, p.calibration.calibration)


def _sample(reading: Reading, p: host.Ina219Prepared, counter: int = 0) -> host.Ina219Sample:
    """Raw C reading -> the host's conversions (the same path as records, without the framing)."""
    return host.Ina219Sample(counter, 0, reading.shunt, reading.bus, reading.current, reading.power,
                             p.calibration.current_lsb_a)


# ---- the simulator itself, against datasheet facts ----


def test_simulator_power_on_state_matches_the_datasheet() -> None:
    sim = Ina219Sim()
    assert sim.register(0) == 0x399F and sim.register(5) == 0
    sim.current_a, sim.bus_v = 0.25, 5.0
    sim.advance(2000)
    assert sim.register(1) == 2500  # 25 mV in 10 uV steps
    assert sim.register(2) == (1250 << 3) | 0b10  # 5 V in 4 mV steps, CNVR set
    assert sim.register(3) == 0 and sim.register(4) == 0  # no calibration: no current or power


# ---- configuration and calibration ----


def test_init_resets_then_writes_and_verifies_configuration_and_calibration(lib: ctypes.CDLL, bus: Bus) -> None:
    p = _prepared(mode="triggered", adc="avg16")
    bus.sim.calibration = 1234  # left over from an earlier program: the reset must clear it
    assert lib.mk_ina219_init(ctypes.byref(_dev(p))) == OK
    assert bus.sim.config == p.config_word and bus.sim.calibration == p.calibration.calibration
    writes = [(reg, v) for op, reg, v in bus.sim.transfers if op == "write"]
    assert writes == [(0, 0x8000), (0, p.config_word), (5, p.calibration.calibration)]
    assert [(op, reg) for op, reg, _ in bus.sim.transfers[3:]] == [("read", 0), ("read", 5)]


def test_init_reports_a_missing_device_and_a_failed_read_back(lib: ctypes.CDLL, bus: Bus) -> None:
    p = _prepared()
    wrong = Dev(0x41, p.config_word, p.calibration.calibration)
    assert lib.mk_ina219_init(ctypes.byref(wrong)) == ERR_I2C
    bus.sim.calibration_stuck = True
    assert lib.mk_ina219_init(ctypes.byref(_dev(p))) == ERR_VERIFY


def test_odd_calibration_is_written_without_bit_0(lib: ctypes.CDLL, bus: Bus) -> None:
    p = _prepared()
    odd = Dev(0x40, p.config_word, 4097)
    assert lib.mk_ina219_init(ctypes.byref(odd)) == OK
    assert bus.sim.calibration == 4096


# ---- readings and conversions ----


@pytest.mark.parametrize("max_a", [0.05, 0.4, 3.2])
def test_current_and_bus_voltage_over_the_range(lib: ctypes.CDLL, bus: Bus, max_a: float) -> None:
    p = _prepared(max_a=max_a)
    dev = _dev(p)
    assert lib.mk_ina219_init(ctypes.byref(dev)) == OK
    rng = random.Random(int(max_a * 1000))
    lsb = p.calibration.current_lsb_a
    currents = [0.0, max_a, -max_a, max_a / 3, -max_a / 7] + [rng.uniform(-max_a, max_a) for _ in range(20)]
    for amps in currents:
        bus.sim.current_a = amps
        bus.sim.bus_v = rng.uniform(0.0, 26.0)
        r = Reading()
        assert lib.mk_ina219_sample(ctypes.byref(dev), 100, ctypes.byref(r)) == OK
        s = _sample(r, p)
        # The C read exactly what the device holds (sign of negative registers included)...
        assert (r.shunt, r.current, r.power) == (bus.sim.shunt, bus.sim.current, bus.sim.power)
        # ...and the host's conversion gives the physical value: shunt quantisation (10 uV / R) plus one current
        # LSB of truncation.
        assert s.current_ma is not None
        assert abs(s.current_ma / 1e3 - amps) <= 5e-6 / SHUNT_OHMS + lsb
        assert abs(s.shunt_current_ma(SHUNT_OHMS) / 1e3 - amps) <= 5e-6 / SHUNT_OHMS + 1e-12
        assert abs(s.bus_v - bus.sim.bus_v) <= 2e-3 + 1e-12
        assert s.conversion_ready and not s.overflow
        # Power register = |current register| x bus / 5000, so in watts |I| x V of the registers, less at most one
        # power LSB (20 x Current_LSB) of truncation.
        assert s.power_mw is not None
        assert 0 <= abs(s.current_ma) * s.bus_v - s.power_mw <= 20 * lsb * 1e3 + 1e-9


def test_cnvr_is_cleared_by_reading_power_and_set_by_the_next_conversion(lib: ctypes.CDLL, bus: Bus) -> None:
    p = _prepared()
    dev = _dev(p)
    assert lib.mk_ina219_init(ctypes.byref(dev)) == OK
    bus.sim.advance(10_000)
    r = Reading()
    assert lib.mk_ina219_read(ctypes.byref(dev), ctypes.byref(r)) == OK
    assert r.bus & 0b10  # a conversion had completed
    assert lib.mk_ina219_read(ctypes.byref(dev), ctypes.byref(r)) == OK
    assert not r.bus & 0b10  # the power read of the first sample cleared it, and 4 transfers < one conversion
    assert lib.mk_ina219_sample(ctypes.byref(dev), 50, ctypes.byref(r)) == OK
    assert r.bus & 0b10


def test_triggered_mode_polls_until_the_conversion_completes(lib: ctypes.CDLL, bus: Bus) -> None:
    p = _prepared(mode="triggered", adc="avg4")  # 2 x 2.13 ms per conversion, 100 us per transfer
    dev = _dev(p)
    assert lib.mk_ina219_init(ctypes.byref(dev)) == OK
    bus.sim.current_a, bus.sim.bus_v = 0.123, 3.3
    bus.sim.transfers.clear()
    r = Reading()
    assert lib.mk_ina219_sample(ctypes.byref(dev), 1000, ctypes.byref(r)) == OK
    polls = sum(1 for op, reg, _ in bus.sim.transfers if op == "read" and reg == 2) - 1
    assert polls == -(-4260 // 100)  # after the trigger write, a read every 100 us until 4.26 ms have passed
    assert bus.sim.transfers[0] == ("write", 0, p.config_word)
    s = _sample(r, p)
    assert s.bus_v == pytest.approx(3.3, abs=2e-3) and s.current_ma == pytest.approx(123, abs=0.05)
    assert lib.mk_ina219_sample(ctypes.byref(dev), 5, ctypes.byref(r)) == ERR_TIMEOUT


def test_overflow_flag_when_the_shunt_voltage_exceeds_the_pga_range(lib: ctypes.CDLL, bus: Bus) -> None:
    p = _prepared(max_a=0.3)  # 30 mV: PGA /1 (40 mV)
    assert p.settings.pga_mv == 40
    dev = _dev(p)
    assert lib.mk_ina219_init(ctypes.byref(dev)) == OK
    bus.sim.current_a, bus.sim.bus_v = 0.5, 5.0  # 50 mV through 0.1 ohm
    r = Reading()
    assert lib.mk_ina219_sample(ctypes.byref(dev), 100, ctypes.byref(r)) == OK
    s = _sample(r, p)
    assert s.overflow and r.shunt == 4000  # saturated at +40 mV
    with pytest.raises(MeasurementError, match="overflow"):
        measured_energy([s], 0.01)


def test_overflow_flag_when_the_current_register_overflows(lib: ctypes.CDLL, bus: Bus) -> None:
    # A calibration for 0.25 A with the 320 mV range: 0.3 A is within the shunt range but not the current register.
    p = host.Ina219Prepared(0x40, host.Ina219Settings(), host.calibrate(SHUNT_OHMS, 0.25))
    dev = _dev(p)
    assert lib.mk_ina219_init(ctypes.byref(dev)) == OK
    bus.sim.current_a, bus.sim.bus_v = 0.3, 5.0
    r = Reading()
    assert lib.mk_ina219_sample(ctypes.byref(dev), 100, ctypes.byref(r)) == OK
    assert r.bus & 1 and r.current == 0x7FFF and r.shunt == 3000
    bus.sim.current_a = 0.2
    assert lib.mk_ina219_sample(ctypes.byref(dev), 100, ctypes.byref(r)) == OK
    assert not r.bus & 1


# ---- SENSOR records end to end ----


def test_c_payload_matches_the_protocol_layout(lib: ctypes.CDLL) -> None:
    for counter, channel, kind, value in [(0, 0, 0x11, -1), (0xFFFFFFFF, 3, 0x12, 0xFFFF), (123456, 1, 1, -98765)]:
        buf = ctypes.create_string_buffer(10)
        lib.mk_sensor_payload(buf, counter, channel, kind, value)
        assert buf.raw == SensorSample(counter, channel, kind, value).payload()


def test_log_sent_as_sensor_frames_decodes_to_amperes_and_volts(lib: ctypes.CDLL, bus: Bus) -> None:
    p = _prepared(max_a=0.4)
    dev = _dev(p)
    assert lib.mk_ina219_init(ctypes.byref(dev)) == OK
    storage = (Entry * 8)()
    log = Log()
    lib.mk_ina219_log_init(ctypes.byref(log), ctypes.byref(dev), storage, 8)
    truth = []
    for k in range(10):  # two more than fit: they are counted as dropped
        bus.sim.current_a = 0.010 + 0.025 * k - (0.2 if k % 3 == 0 else 0)
        bus.sim.bus_v = 3.3 - 0.01 * k
        bus.sim.advance(2000)  # a conversion completes between samples (as between layers)
        assert lib.mk_ina219_log_sample(ctypes.byref(log), 1000 * (k + 1)) == OK
        truth.append((bus.sim.current_a, bus.sim.bus_v))
    assert (log.count, log.dropped, log.errors) == (8, 2, 0)
    lib.sim_take_output(ctypes.create_string_buffer(1), 0)
    frames_sent = lib.mk_ina219_log_send(ctypes.byref(log), 2, 77)
    assert frames_sent == 1 + 4 * 8
    raw = ctypes.create_string_buffer(65536)
    n = lib.sim_take_output(raw, len(raw))
    events = FrameDecoder().feed(raw.raw[:n])
    frames = [e for e in events if isinstance(e, Frame)]
    assert len(frames) == frames_sent and all(f.seq == 77 for f in frames)
    records = [decode(f) for f in frames]
    assert all(isinstance(r, SensorSample) for r in records)
    samples = host.decode_records(records, SHUNT_OHMS, expect_calibration=p.calibration.calibration)
    assert [s.counter for s in samples] == [1000 * (k + 1) for k in range(8)]
    assert all(s.channel == 2 for s in samples)
    lsb = p.calibration.current_lsb_a
    for s, (amps, volts) in zip(samples, truth):
        assert s.current_ma is not None and abs(s.current_ma / 1e3 - amps) <= 5e-6 / SHUNT_OHMS + lsb
        assert abs(s.bus_v - volts) <= 2e-3 + 1e-12
    # The same records as raw payload bytes decode identically.
    assert host.decode_records([f.payload for f in frames], SHUNT_OHMS) == samples
    # Energy over a 10 ms window at the measured bus voltages: within the sensor's resolution of the truth.
    e = measured_energy(samples, 0.010)
    true_uj = sum(a * v for a, v in truth[:8]) / 8 * 0.010 * 1e6
    assert e.source == "measured" and e.samples == 8
    assert e.uj_per_inference == pytest.approx(true_uj, abs=0.010 * 1e6 * (5e-5 + lsb) * 3.3 + 0.010 * 1e6 * 0.4 * 2e-3)


def test_a_device_that_lost_its_calibration_is_reported(lib: ctypes.CDLL, bus: Bus) -> None:
    p = _prepared()
    dev = _dev(p)
    assert lib.mk_ina219_init(ctypes.byref(dev)) == OK
    storage = (Entry * 2)()
    log = Log()
    lib.mk_ina219_log_init(ctypes.byref(log), ctypes.byref(dev), storage, 2)
    assert lib.mk_ina219_log_sample(ctypes.byref(log), 5) == OK
    bus.sim.reset()  # brown-out: calibration back to 0
    lib.sim_take_output(ctypes.create_string_buffer(1), 0)
    lib.mk_ina219_log_send(ctypes.byref(log), 0, 1)
    raw = ctypes.create_string_buffer(4096)
    n = lib.sim_take_output(raw, len(raw))
    records = [decode(e) for e in FrameDecoder().feed(raw.raw[:n]) if isinstance(e, Frame)]
    with pytest.raises(host.SensorCalibrationMismatch, match="reports calibration 0"):
        host.decode_records(records, SHUNT_OHMS, expect_calibration=p.calibration.calibration)
