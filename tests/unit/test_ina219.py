"""INA219 host side: configuration words, calibration (datasheet 8.5.1), PGA choice, prepare from board files, and
decoding SENSOR records (without the C driver: tests/host/test_ina219_sim.py covers that)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from mcukit.boards import CurrentSensor, load_boards
from mcukit.device.protocol import MalformedRecord, SensorSample
from mcukit.errors import UsageError
from mcukit.measure import ina219 as m

ROOT = Path(__file__).resolve().parents[2]


def test_default_settings_are_the_power_on_configuration() -> None:
    assert m.Ina219Settings().config_word() == m.CONFIG_RESET == 0x399F


@pytest.mark.parametrize(
    ("settings", "word"),
    [
        # BRNG=0, PG=00, BADC=0000, SADC=0000, MODE=000
        (m.Ina219Settings(16, 40, "9bit", "9bit", "power-down"), 0x0000),
        # BRNG=1 (bit 13), PG=01 (bit 11), BADC=1111 (bits 10..7), SADC=1001 (bits 6..3), MODE=011
        (m.Ina219Settings(32, 80, "avg128", "avg2", "triggered"), (1 << 13) | (1 << 11) | (0xF << 7) | (9 << 3) | 3),
        (m.Ina219Settings(16, 160, "10bit", "11bit", "shunt-continuous"), (2 << 11) | (1 << 7) | (2 << 3) | 5),
    ],
)
def test_config_word_fields(settings: m.Ina219Settings, word: int) -> None:
    assert settings.config_word() == word


def test_conversion_time_follows_mode_and_adc() -> None:
    assert m.Ina219Settings().conversion_s == pytest.approx(2 * 532e-6)
    assert m.Ina219Settings(shunt_adc="avg128", mode="shunt-continuous").conversion_s == pytest.approx(68.10e-3)
    assert m.Ina219Settings(mode="power-down").conversion_s == 0


def test_bad_settings_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="pga_mv"):
        m.Ina219Settings(pga_mv=100)
    with pytest.raises(UsageError, match="mode"):
        m.Ina219Settings(mode="fast")


def test_the_c_header_and_python_agree_on_numbers() -> None:
    text = (ROOT / "firmware/include/mcukit/mk_ina219.h").read_text()
    d = {k: int(v, 0) for k, v in re.findall(r"#define\s+(MK_\w+)\s+(0x[0-9A-Fa-f]+|\d+)u?\b", text)}
    assert d["MK_INA219_CONFIG_RESET"] == m.CONFIG_RESET
    assert (d["MK_INA219_BUS_CNVR"], d["MK_INA219_BUS_OVF"]) == (m.BUS_CNVR, m.BUS_OVF)
    assert d["MK_INA219_CALIBRATION_MASK"] == m.CALIBRATION_MASK
    for name in ("CONFIG", "SHUNT", "BUS", "POWER", "CURRENT", "CALIBRATION"):
        assert d[f"MK_INA219_REG_{name}"] == getattr(m, f"REG_{name}")
    for name in ("CURRENT_UA", "VOLTAGE_MV", "POWER_UW", "INA219_CALIBRATION", "INA219_SHUNT", "INA219_BUS",
                 "INA219_CURRENT", "INA219_POWER"):
        assert d[f"MK_SENSOR_KIND_{name}"] == getattr(m, f"KIND_{name}")
    for setting, (field, _) in m.ADC_SETTINGS.items():
        assert d[f"MK_INA219_ADC_{setting.upper()}"] == field
    for mode, value in m.MODES.items():
        c_name = {"triggered": "BOTH_TRIGGERED", "continuous": "BOTH_CONTINUOUS"}.get(mode, mode.upper().replace("-", "_"))
        assert d[f"MK_INA219_MODE_{c_name}"] == value


@pytest.mark.parametrize(
    ("shunt", "max_a", "lsb", "cal"),
    [
        # 3.2 A / 2^15 = 97.65625 uA; 0.04096 / (97.65625e-6 x 0.1) = 4194.304 -> 4194
        (0.1, 3.2, None, 4194),
        # a round 100 uA LSB with 0.1 ohm: exactly 4096 (must not become 4095 through float rounding)
        (0.1, 2.0, 100e-6, 4096),
        # 1 A / 2^15 = 30.517578125 uA, 0.01 ohm: 134217.728 -> 16 bits exceeded, capped at 0xFFFE
        (0.01, 1.0, None, 0xFFFE),
        # 0.5 A, 0.1 ohm: 15.2587890625 uA -> 26843.5456 -> 26843 -> bit 0 cleared -> 26842
        (0.1, 0.5, None, 26842),
    ],
)
def test_calibration_follows_the_datasheet_equation(shunt: float, max_a: float, lsb: float | None, cal: int) -> None:
    c = m.calibrate(shunt, max_a, lsb)
    assert c.calibration == cal
    assert c.current_lsb_a == pytest.approx(0.04096 / (cal * shunt), rel=1e-12)
    assert c.power_lsb_w == pytest.approx(20 * c.current_lsb_a, rel=1e-12)
    # The LSB really used is never finer than asked: max_a stays representable unless Cal was capped.
    if cal != 0xFFFE:
        assert c.full_scale_a >= max_a * 32767 / 32768 - 1e-12


def test_calibration_errors() -> None:
    with pytest.raises(UsageError, match="positive"):
        m.calibrate(0, 1.0)
    with pytest.raises(UsageError, match="15 bits"):
        m.calibrate(0.1, 1.0, current_lsb=1e-6)
    with pytest.raises(UsageError, match="too fine"):
        m.calibrate(0.01, 0.1, current_lsb=4e-6)
    with pytest.raises(UsageError, match="rounds to 0"):
        m.calibrate(100.0, 1.0, current_lsb=1.0)


@pytest.mark.parametrize(("max_a", "pga"), [(0.39, 40), (0.4, 40), (0.41, 80), (1.6, 160), (3.2, 320)])
def test_pga_is_the_smallest_range_that_covers_the_current(max_a: float, pga: int) -> None:
    assert m.choose_pga(0.1, max_a) == pga


def test_pga_refuses_more_than_320_mv() -> None:
    with pytest.raises(UsageError, match="320 mV"):
        m.choose_pga(0.1, 3.3)


def test_prepare_from_the_shipped_board_file() -> None:
    boards = load_boards()
    nano = boards["nano33"]
    assert nano.current_sensor is not None
    p = m.prepare_for_board(nano, max_expected_a=0.4)
    assert p.address == nano.current_sensor.i2c_address
    assert p.settings.pga_mv == 40
    assert p.calibration == m.calibrate(nano.current_sensor.shunt_ohms, 0.4)
    assert p.c_defines() == {
        "MK_INA219_ADDRESS": f"0x{p.address:02X}u",
        "MK_INA219_CONFIG_WORD": f"0x{p.config_word:04X}u",
        "MK_INA219_CALIBRATION_WORD": f"0x{p.calibration.calibration:04X}u",
    }
    # Without a current the 320 mV full scale is used.
    full = m.prepare_for_board(nano)
    assert full.settings.pga_mv == 320
    assert full.calibration.max_expected_a == pytest.approx(0.32 / nano.current_sensor.shunt_ohms)
    no_sensor = next(b for b in boards.values() if b.current_sensor is None)
    with pytest.raises(UsageError, match="no \\[current_sensor\\]"):
        m.prepare_for_board(no_sensor)


def test_prepare_checks_kind_and_address() -> None:
    with pytest.raises(UsageError, match="not supported"):
        m.prepare(CurrentSensor("ina226", 0x40, 0.1))
    with pytest.raises(UsageError, match="0x40..0x4F"):
        m.prepare(CurrentSensor("ina219", 0x20, 0.1))


# ---- decoding records ----


def _sample_records(counter: int, channel: int, shunt: int, bus: int, current: int, power: int) -> list[SensorSample]:
    return [SensorSample(counter, channel, kind, value) for kind, value in
            zip((0x11, 0x12, 0x13, 0x14), (shunt, bus, current, power))]


def test_decode_converts_with_the_calibration_record() -> None:
    cal = m.calibrate(0.1, 0.4)
    lsb = 0.04096 / (cal.calibration * 0.1)
    recs = [SensorSample(0, 1, 0x10, cal.calibration)]
    recs += _sample_records(100, 1, -1234, (825 << 3) | 0b10, -5000, 321)
    recs += [SensorSample(150, 1, 0x01, 42)]  # a generic record in between is not an INA219 sample
    recs += _sample_records(200, 1, 31000, (3000 << 3) | 0b11, 0x7FFF, 0xFFFF)
    a, b = m.decode_records(recs, 0.1)
    assert (a.counter, a.channel) == (100, 1)
    assert a.shunt_mv == pytest.approx(-12.34)
    assert a.shunt_current_ma(0.1) == pytest.approx(-123.4)
    assert a.bus_v == pytest.approx(3.3) and a.conversion_ready and not a.overflow
    assert a.current_ma == pytest.approx(-5000 * lsb * 1e3)
    assert a.power_mw == pytest.approx(321 * 20 * lsb * 1e3)
    assert b.overflow and b.bus_v == pytest.approx(12.0)


def test_decode_without_calibration_gives_no_current() -> None:
    (s,) = m.decode_records(_sample_records(1, 0, 100, 8, 0, 0), 0.1)
    assert s.current_ma is None and s.power_mw is None and s.shunt_mv == pytest.approx(1.0)
    (s,) = m.decode_records(_sample_records(1, 0, 100, 8, 7, 0), 0.1, expect_calibration=4096)
    assert s.current_ma == pytest.approx(7 * 0.1)  # 0.04096 / (4096 x 0.1) = 100 uA per LSB


def test_decode_accepts_payload_bytes() -> None:
    recs = [SensorSample(0, 0, 0x10, 4096), *_sample_records(9, 0, -1, 16, -1, 1)]
    assert m.decode_records([r.payload() for r in recs], 0.1) == m.decode_records(recs, 0.1)


def test_decode_rejects_broken_streams() -> None:
    recs = _sample_records(1, 0, 1, 8, 1, 1)
    with pytest.raises(MalformedRecord, match="incomplete"):
        m.decode_records(recs[:3], 0.1)
    with pytest.raises(MalformedRecord, match="out of order"):
        m.decode_records([recs[1], recs[0]], 0.1)
    with pytest.raises(MalformedRecord, match="out of order"):
        m.decode_records(recs[:2] + _sample_records(2, 0, 1, 8, 1, 1)[2:], 0.1)
    with pytest.raises(MalformedRecord, match="16-bit"):
        m.decode_records(_sample_records(1, 0, 40000, 8, 1, 1), 0.1)
    with pytest.raises(MalformedRecord, match="inside a sample"):
        m.decode_records([recs[0], SensorSample(1, 0, 0x10, 4096)], 0.1)
    with pytest.raises(m.SensorCalibrationMismatch):
        m.decode_records([SensorSample(0, 0, 0x10, 4000), *recs], 0.1, expect_calibration=4096)
    with pytest.raises(MalformedRecord):
        m.parse_payload(b"\x00" * 9)


def test_current_lsb_helper() -> None:
    assert m.current_lsb_a(4096, 0.1) == pytest.approx(1e-4)
    assert math.isclose(m.current_lsb_a(1, 0.04096), 1.0)
    with pytest.raises(UsageError):
        m.current_lsb_a(0, 0.1)
