"""TI INA219 current monitor, host side: "prepare" (configuration and calibration words for the C driver, from the
board's shunt and the largest expected current) and decoding of SENSOR records into amperes, volts and watts.

The firmware (firmware/src/sensors/mk_ina219.c) only writes the two words computed here and sends raw registers;
every conversion to physical units happens in this module. Facts are from the INA219 datasheet (TI SBOS448G):
register map 8.6, calibration 8.5.1 (Current_LSB = I_max / 2^15, Cal = trunc(0.04096 / (Current_LSB x R_shunt)),
Current = Shunt x Cal / 4096, Power = Current x Bus / 5000, Power_LSB = 20 x Current_LSB). See docs/energy.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from mcukit.boards import Board, CurrentSensor
from mcukit.device.errors import DeviceProtocolError
from mcukit.device.protocol import MalformedRecord, SensorSample
from mcukit.errors import UsageError

# ---- register map (datasheet 8.6) ----
REG_CONFIG = 0x00
REG_SHUNT = 0x01
REG_BUS = 0x02
REG_POWER = 0x03
REG_CURRENT = 0x04
REG_CALIBRATION = 0x05

CONFIG_RESET = 0x399F  # power-on value: 32 V range, PGA /8 (320 mV), 12-bit bus and shunt, shunt+bus continuous
BUS_CNVR = 0x0002
BUS_OVF = 0x0001
CALIBRATION_MASK = 0xFFFE  # bit 0 of the calibration register does not exist (reads 0)

SHUNT_LSB_V = 10e-6  # shunt voltage register, fixed
BUS_LSB_V = 4e-3  # bus voltage register bits 15..3, fixed
CAL_SCALE = Fraction(4096, 100_000)  # the 0.04096 of the calibration equation (exact: 4096 x 10 uV)
POWER_LSB_FACTOR = 20

BUS_RANGES_V = {16: 0, 32: 1}
PGA_RANGES_MV = {40: 0, 80: 1, 160: 2, 320: 3}
# ADC setting -> (BADC/SADC field, conversion time in seconds), datasheet Table 5 / 8.6.2.1.
ADC_SETTINGS: dict[str, tuple[int, float]] = {
    "9bit": (0x0, 84e-6),
    "10bit": (0x1, 148e-6),
    "11bit": (0x2, 276e-6),
    "12bit": (0x3, 532e-6),
    "avg2": (0x9, 1.06e-3),
    "avg4": (0xA, 2.13e-3),
    "avg8": (0xB, 4.26e-3),
    "avg16": (0xC, 8.51e-3),
    "avg32": (0xD, 17.02e-3),
    "avg64": (0xE, 34.05e-3),
    "avg128": (0xF, 68.10e-3),
}
MODES = {
    "power-down": 0,
    "shunt-triggered": 1,
    "bus-triggered": 2,
    "triggered": 3,
    "adc-off": 4,
    "shunt-continuous": 5,
    "bus-continuous": 6,
    "continuous": 7,
}

# ---- SENSOR record kinds (docs/protocol.md "SENSOR payloads"; mk_ina219.h MK_SENSOR_KIND_*) ----
KIND_CURRENT_UA = 0x01
KIND_VOLTAGE_MV = 0x02
KIND_POWER_UW = 0x03
KIND_INA219_CALIBRATION = 0x10
KIND_INA219_SHUNT = 0x11
KIND_INA219_BUS = 0x12
KIND_INA219_CURRENT = 0x13
KIND_INA219_POWER = 0x14
_SAMPLE_KINDS = (KIND_INA219_SHUNT, KIND_INA219_BUS, KIND_INA219_CURRENT, KIND_INA219_POWER)

_HINT = "see docs/energy.md (INA219 calibration)"


def _exact(x: float) -> Fraction:
    """The decimal a user wrote (0.1 ohm), not its binary float: keeps trunc() in the calibration equation from
    landing one below a whole number (0.04096 / (1e-4 x 0.1) is 4096, not 4095.9999...)."""
    return Fraction(repr(float(x)))


# ------------------------------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Ina219Settings:
    """Configuration register fields. The defaults are the device's power-on value (0x399F)."""

    bus_range_v: int = 32
    pga_mv: int = 320
    bus_adc: str = "12bit"
    shunt_adc: str = "12bit"
    mode: str = "continuous"

    def __post_init__(self) -> None:
        for name, value, allowed in (
            ("bus_range_v", self.bus_range_v, BUS_RANGES_V),
            ("pga_mv", self.pga_mv, PGA_RANGES_MV),
            ("bus_adc", self.bus_adc, ADC_SETTINGS),
            ("shunt_adc", self.shunt_adc, ADC_SETTINGS),
            ("mode", self.mode, MODES),
        ):
            if value not in allowed:
                raise UsageError(f"INA219 {name} {value!r} is not one of {', '.join(map(str, allowed))}", _HINT)

    def config_word(self) -> int:
        """BRNG(13) PG(12..11) BADC(10..7) SADC(6..3) MODE(2..0)."""
        return (
            (BUS_RANGES_V[self.bus_range_v] << 13)
            | (PGA_RANGES_MV[self.pga_mv] << 11)
            | (ADC_SETTINGS[self.bus_adc][0] << 7)
            | (ADC_SETTINGS[self.shunt_adc][0] << 3)
            | MODES[self.mode]
        )

    @property
    def conversion_s(self) -> float:
        """Time of one complete conversion cycle (shunt then bus, as the mode asks): the shortest useful sample
        period; CNVR is set at its end."""
        mode = MODES[self.mode]
        t = 0.0
        if mode in (1, 3, 5, 7):
            t += ADC_SETTINGS[self.shunt_adc][1]
        if mode in (2, 3, 6, 7):
            t += ADC_SETTINGS[self.bus_adc][1]
        return t


def choose_pga(shunt_ohms: float, max_expected_a: float) -> int:
    """Smallest PGA range (mV) whose full scale covers max_expected_a through the shunt: the finest shunt reading
    that does not saturate."""
    needed_mv = _exact(shunt_ohms) * _exact(max_expected_a) * 1000
    for mv in sorted(PGA_RANGES_MV):
        if needed_mv <= mv:
            return mv
    raise UsageError(
        f"{max_expected_a} A through {shunt_ohms} ohm is {float(needed_mv):.0f} mV, beyond the INA219's 320 mV range",
        "use a smaller shunt resistor or a lower max_expected_a",
    )


@dataclass(frozen=True)
class Ina219Calibration:
    """The calibration word and the register LSBs it implies. current_lsb_a is what the device really uses,
    0.04096 / (cal x R): at least the requested LSB, because of the truncation and the missing bit 0."""

    shunt_ohms: float
    max_expected_a: float
    calibration: int

    @property
    def current_lsb_a(self) -> float:
        return current_lsb_a(self.calibration, self.shunt_ohms)

    @property
    def power_lsb_w(self) -> float:
        return POWER_LSB_FACTOR * self.current_lsb_a

    @property
    def full_scale_a(self) -> float:
        """Largest current the current register can hold (32767 LSBs)."""
        return 32767 * self.current_lsb_a


def current_lsb_a(calibration: int, shunt_ohms: float) -> float:
    """Amperes per current-register LSB for a calibration word and shunt: Current = Shunt x Cal / 4096 with the
    shunt register at 10 uV per LSB gives 0.04096 / (Cal x R)."""
    if calibration <= 0 or shunt_ohms <= 0:
        raise UsageError(f"no current LSB for calibration {calibration} and shunt {shunt_ohms} ohm", _HINT)
    return float(CAL_SCALE / (calibration * _exact(shunt_ohms)))


def calibrate(shunt_ohms: float, max_expected_a: float, current_lsb: float | None = None) -> Ina219Calibration:
    """Calibration word for a shunt and the largest current to measure (datasheet 8.5.1).

    Minimum Current_LSB = max_expected_a / 2^15; a larger `current_lsb` (a round value, as the datasheet suggests)
    may be given. Cal = trunc(0.04096 / (Current_LSB x R_shunt)), then bit 0 cleared (the register has none). When
    the minimum LSB would need more than 16 bits (small currents, small shunt), Cal is capped at 0xFFFE.
    """
    if not shunt_ohms > 0 or not math.isfinite(shunt_ohms):
        raise UsageError(f"shunt resistance must be positive, got {shunt_ohms} ohm", "set shunt_ohms in the board file")
    if not max_expected_a > 0 or not math.isfinite(max_expected_a):
        raise UsageError(f"max expected current must be positive, got {max_expected_a} A", _HINT)
    minimum = _exact(max_expected_a) / 2**15
    lsb = minimum if current_lsb is None else _exact(current_lsb)
    if lsb < minimum:
        raise UsageError(
            f"current LSB {current_lsb} A cannot reach {max_expected_a} A in 15 bits (minimum {float(minimum):.3g} A)",
            "use a larger current_lsb or leave it unset",
        )
    cal = math.floor(CAL_SCALE / (lsb * _exact(shunt_ohms)))
    if cal > 0xFFFF:
        if current_lsb is not None:
            raise UsageError(
                f"calibration {cal} does not fit 16 bits: current LSB {current_lsb} A is too fine for a "
                f"{shunt_ohms} ohm shunt",
                "use a larger current_lsb, or leave it unset",
            )
        # A small current through a small shunt: the finest LSB the register allows. Nothing is lost, since above
        # Cal = 4096 the current register only rescales the shunt register, whose 10 uV step is the real limit.
        cal = CALIBRATION_MASK
    cal &= CALIBRATION_MASK
    if cal == 0:
        raise UsageError(
            f"calibration rounds to 0 for a {shunt_ohms} ohm shunt and a current LSB of {float(lsb):.3g} A",
            "use a smaller current_lsb or max_expected_a",
        )
    return Ina219Calibration(float(shunt_ohms), float(max_expected_a), cal)


@dataclass(frozen=True)
class Ina219Prepared:
    """Everything the firmware needs, as C constants: `c_defines()` feeds the project generator."""

    address: int
    settings: Ina219Settings
    calibration: Ina219Calibration

    @property
    def config_word(self) -> int:
        return self.settings.config_word()

    def c_defines(self) -> dict[str, str]:
        return {
            "MK_INA219_ADDRESS": f"0x{self.address:02X}u",
            "MK_INA219_CONFIG_WORD": f"0x{self.config_word:04X}u",
            "MK_INA219_CALIBRATION_WORD": f"0x{self.calibration.calibration:04X}u",
        }


def prepare(
    sensor: CurrentSensor,
    *,
    max_expected_a: float | None = None,
    current_lsb: float | None = None,
    bus_range_v: int = 32,
    adc: str = "12bit",
    mode: str = "continuous",
) -> Ina219Prepared:
    """Configuration + calibration for a board's `[current_sensor]`. Without max_expected_a the full scale of the
    320 mV range is used (0.32 V / R), which never saturates but wastes resolution on a small load."""
    if sensor.kind != "ina219":
        raise UsageError(f"current sensor kind {sensor.kind!r} is not supported", "use kind = \"ina219\"")
    if not 0x40 <= sensor.i2c_address <= 0x4F:
        raise UsageError(f"INA219 I2C address 0x{sensor.i2c_address:02X} is outside 0x40..0x4F", _HINT)
    if max_expected_a is None:
        max_expected_a = float(Fraction(320, 1000) / _exact(sensor.shunt_ohms))
    pga = choose_pga(sensor.shunt_ohms, max_expected_a)
    settings = Ina219Settings(bus_range_v=bus_range_v, pga_mv=pga, bus_adc=adc, shunt_adc=adc, mode=mode)
    return Ina219Prepared(sensor.i2c_address, settings, calibrate(sensor.shunt_ohms, max_expected_a, current_lsb))


def prepare_for_board(board: Board, **options: object) -> Ina219Prepared:
    if board.current_sensor is None:
        raise UsageError(f"board {board.name!r} has no [current_sensor] section", "add one to its board file")
    return prepare(board.current_sensor, **options)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------------ records


@dataclass(frozen=True)
class Ina219Sample:
    """One sample: the raw registers as sent, and conversions. `current_lsb_a` is None when no calibration is known
    (then only shunt and bus voltages are meaningful)."""

    counter: int
    channel: int
    shunt_raw: int
    bus_raw: int
    current_raw: int
    power_raw: int
    current_lsb_a: float | None

    @property
    def shunt_mv(self) -> float:
        return self.shunt_raw * SHUNT_LSB_V * 1e3

    @property
    def bus_v(self) -> float:
        return (self.bus_raw >> 3) * BUS_LSB_V

    @property
    def conversion_ready(self) -> bool:
        return bool(self.bus_raw & BUS_CNVR)

    @property
    def overflow(self) -> bool:
        """The device's math overflow flag: current and power of this sample are meaningless."""
        return bool(self.bus_raw & BUS_OVF)

    @property
    def current_ma(self) -> float | None:
        return None if self.current_lsb_a is None else self.current_raw * self.current_lsb_a * 1e3

    @property
    def power_mw(self) -> float | None:
        return None if self.current_lsb_a is None else self.power_raw * POWER_LSB_FACTOR * self.current_lsb_a * 1e3

    def shunt_current_ma(self, shunt_ohms: float) -> float:
        """Current from the shunt voltage alone (needs no calibration; resolution 10 uV / R)."""
        return self.shunt_mv / shunt_ohms


class SensorCalibrationMismatch(DeviceProtocolError):
    """The device reports a calibration word other than the one the host prepared (reset, other firmware)."""


def parse_payload(payload: bytes) -> SensorSample:
    """A SENSOR record from its payload bytes (u32 counter, u8 channel, u8 kind, i32 value)."""
    return SensorSample.parse(payload)


def decode_records(
    records: Iterable[SensorSample | bytes],
    shunt_ohms: float,
    *,
    expect_calibration: int | None = None,
) -> list[Ina219Sample]:
    """INA219 samples from SENSOR records (objects or payload bytes) in the order they arrived.

    A CALIBRATION record sets its channel's Current_LSB for the samples after it; it must equal expect_calibration
    when one is given (which is also used for channels that sent none). A sample is four records with the same
    counter and channel, in the order shunt, bus, current, power; anything else is a protocol error. Records of
    other kinds (generic current/voltage/power in uA/mV/uW) are not INA219 samples and are skipped.
    """
    cal_by_channel: dict[int, int] = {}
    out: list[Ina219Sample] = []
    pending: list[SensorSample] = []
    for item in records:
        rec = parse_payload(bytes(item)) if isinstance(item, (bytes, bytearray, memoryview)) else item
        if rec.kind == KIND_INA219_CALIBRATION:
            if pending:
                raise MalformedRecord("INA219 calibration record inside a sample")
            if expect_calibration is not None and rec.value != expect_calibration & CALIBRATION_MASK:
                raise SensorCalibrationMismatch(
                    f"INA219 on channel {rec.channel} reports calibration {rec.value}, expected "
                    f"{expect_calibration & CALIBRATION_MASK}",
                    "the sensor was reset or the firmware was built for another shunt; rebuild and reflash",
                )
            cal_by_channel[rec.channel] = rec.value
            continue
        if rec.kind not in _SAMPLE_KINDS:
            continue
        expected_kind = _SAMPLE_KINDS[len(pending)]
        if rec.kind != expected_kind or (pending and (rec.counter, rec.channel) != (pending[0].counter,
                                                                                      pending[0].channel)):
            raise MalformedRecord(
                f"INA219 sample records out of order: kind 0x{rec.kind:02x} at counter {rec.counter} channel "
                f"{rec.channel}, expected kind 0x{expected_kind:02x}"
                + (f" of the sample at counter {pending[0].counter}" if pending else "")
            )
        pending.append(rec)
        if len(pending) == len(_SAMPLE_KINDS):
            shunt, bus, current, power = pending
            cal = cal_by_channel.get(shunt.channel, expect_calibration)
            lsb = current_lsb_a(cal, shunt_ohms) if cal else None
            out.append(
                Ina219Sample(
                    counter=shunt.counter,
                    channel=shunt.channel,
                    shunt_raw=_check_range(shunt, -0x8000, 0x7FFF),
                    bus_raw=_check_range(bus, 0, 0xFFFF),
                    current_raw=_check_range(current, -0x8000, 0x7FFF),
                    power_raw=_check_range(power, 0, 0xFFFF),
                    current_lsb_a=lsb,
                )
            )
            pending = []
    if pending:
        raise MalformedRecord(f"INA219 sample at counter {pending[0].counter} is incomplete ({len(pending)} of 4)")
    return out


def _check_range(rec: SensorSample, lo: int, hi: int) -> int:
    if not lo <= rec.value <= hi:
        raise MalformedRecord(f"INA219 record kind 0x{rec.kind:02x} value {rec.value} outside a 16-bit register")
    return rec.value
