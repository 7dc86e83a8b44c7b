"""A register-level model of the TI INA219 (datasheet SBOS448G, 8.6 register map, 8.5 programming), the device the
C driver is tested against. It is written from the datasheet, independently of the driver and of
mcukit.measure.ina219, so that the tests compare two readings of the datasheet rather than one with itself.

Modelled: the six registers and their reset values (configuration 0x399F, the rest 0); the reset bit; calibration
bit 0 reading as 0; shunt voltage = I x R in 10 uV steps, saturating at the PGA range (+-40/80/160/320 mV);
bus voltage = IN- in 4 mV steps in bits 15..3 with CNVR (bit 1) and OVF (bit 0); current = shunt x cal / 4096 and
power = |current| x bus / 5000, both 0 while the calibration is 0; OVF when current or power leave their 16-bit
registers or the shunt voltage exceeds the PGA range; CNVR set when a conversion completes and cleared by reading the
power register or writing a new mode; conversion times from the ADC settings, on a virtual clock that every I2C
transfer advances (so polling for CNVR takes a realistic number of reads, without sleeping).

Assumptions where the datasheet is silent (they are the simulator's, not facts): divisions truncate toward zero;
out-of-range current/power registers saturate; resolutions below 12 bits and averaging change only the conversion
time (no noise is modelled, so averaging noise-free input changes nothing); writes to read-only registers are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NACK = -1
BUS_ERROR = -2

_ADC_US = {0x0: 84, 0x1: 148, 0x2: 276, 0x3: 532, 0x8: 532, 0x9: 1060, 0xA: 2130, 0xB: 4260, 0xC: 8510,
           0xD: 17020, 0xE: 34050, 0xF: 68100}


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


@dataclass
class Ina219Sim:
    address: int = 0x40
    shunt_ohms: float = 0.1
    transaction_us: int = 100  # virtual time per I2C transfer (about 4 bytes at 400 kHz)
    current_a: float = 0.0  # current through the shunt (IN+ -> IN-)
    bus_v: float = 0.0  # voltage at IN- to ground
    calibration_stuck: bool = False  # fault injection: calibration writes are lost
    now_us: int = 0
    transfers: list[tuple[str, int, int | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.reset()

    # ---- device state ----
    def reset(self) -> None:
        self.config = 0x399F
        self.calibration = 0
        self.shunt = 0
        self.bus = 0  # voltage count (bits 15..3 of the register)
        self.current = 0
        self.power = 0
        self.cnvr = False
        self.ovf = False
        self._due: int | None = None
        self._start_conversion()

    @property
    def mode(self) -> int:
        return self.config & 7

    def conversion_us(self) -> int:
        badc, sadc = (self.config >> 7) & 0xF, (self.config >> 3) & 0xF
        t = 0
        if self.mode in (1, 3, 5, 7):
            t += _ADC_US[sadc]
        if self.mode in (2, 3, 6, 7):
            t += _ADC_US[badc]
        return t

    def _start_conversion(self) -> None:
        self._due = self.now_us + self.conversion_us() if self.mode not in (0, 4) else None

    def advance(self, us: int) -> None:
        self.now_us += us
        while self._due is not None and self._due <= self.now_us:
            self._convert()
            if self.mode >= 5:  # continuous: the next conversion starts at once
                self._due += self.conversion_us()
            else:
                self._due = None

    def _convert(self) -> None:
        pga = (self.config >> 11) & 3
        full_scale = 4000 << pga  # +-40 mV x 2^pga in 10 uV counts
        shunt_over = False
        if self.mode in (1, 3, 5, 7):
            counts = round(self.current_a * self.shunt_ohms / 10e-6)
            shunt_over = abs(counts) > full_scale
            self.shunt = max(-full_scale, min(full_scale, counts))
        if self.mode in (2, 3, 6, 7):
            bus_fs = 8000 if self.config & 0x2000 else 4000
            self.bus = max(0, min(bus_fs, round(self.bus_v / 4e-3)))
        over = shunt_over
        if self.calibration == 0:
            self.current = self.power = 0
        else:
            current = _trunc_div(self.shunt * self.calibration, 4096)
            if not -0x8000 <= current <= 0x7FFF:
                over = True
                current = max(-0x8000, min(0x7FFF, current))
            power = abs(current) * self.bus // 5000
            if power > 0xFFFF:
                over = True
                power = 0xFFFF
            self.current, self.power = current, power
        self.ovf = over
        self.cnvr = True

    def register(self, reg: int) -> int:
        """Register value as the bus would return it (16 bits)."""
        if reg == 0:
            return self.config
        if reg == 1:
            return self.shunt & 0xFFFF
        if reg == 2:
            return (self.bus << 3) | (int(self.cnvr) << 1) | int(self.ovf)
        if reg == 3:
            return self.power
        if reg == 4:
            return self.current & 0xFFFF
        if reg == 5:
            return self.calibration
        raise KeyError(reg)

    # ---- the I2C side (called by the C backend through ctypes) ----
    def i2c_write(self, addr: int, reg: int, data: bytes) -> int:
        if addr != self.address:
            return NACK
        if reg > 5 or len(data) not in (0, 2):
            return BUS_ERROR  # a driver bug: the INA219 has six registers of two bytes
        self.advance(self.transaction_us)
        if not data:
            self.transfers.append(("pointer", reg, None))
            return 0
        value = (data[0] << 8) | data[1]
        self.transfers.append(("write", reg, value))
        if reg == 0:
            if value & 0x8000:
                self.reset()
            else:
                self.config = value & 0x3FFF  # bit 14 does not exist
                if self.mode not in (0, 4):
                    self.cnvr = False
                self._start_conversion()
        elif reg == 5 and not self.calibration_stuck:
            self.calibration = value & 0xFFFE
        return 0

    def i2c_read(self, addr: int, reg: int, n: int) -> bytes | int:
        if addr != self.address:
            return NACK
        if reg > 5 or n != 2:
            return BUS_ERROR
        self.advance(self.transaction_us)
        value = self.register(reg)
        self.transfers.append(("read", reg, value))
        if reg == 3:
            self.cnvr = False
        return bytes((value >> 8, value & 0xFF))
