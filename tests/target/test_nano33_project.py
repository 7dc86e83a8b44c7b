"""The generated project for the Arduino Nano 33 BLE (`mcukit project MODEL --board nano33`).

The real Arduino core (ArduinoCore-mbed) and PlatformIO's nordicnrf52 platform cannot be downloaded here (no
network), so `pio run` cannot build this project in CI. What is checked instead:
- the project renders, and its platformio.ini parses with PlatformIO's own parser (ProjectConfig) into the expected
  environment, platform, board and framework, with mcukit's build flags;
- every source PlatformIO would compile (src/*.c, src/model/*.c, and lib/mcukit/src/** as selected by the library's
  srcFilter, including the Arduino HAL .cpp) compiles with arm-none-eabi-gcc/g++ for the nRF52840's core
  (-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16) with -Wall -Wextra -Werror, against a minimal stub
  Arduino.h written below that declares only what the HAL uses (Serial: begin/available/read/write/flush/operator
  bool; millis, micros, delay, yield, pinMode, digitalWrite, F_CPU) and a stub Wire.h shaped like ArduinoCore-API's
  HardwareI2C (the board has a current sensor, so the project compiles the INA219 driver and the HAL's Wire I2C);
- the objects link (with stub definitions of those few Arduino functions and newlib's nosys), so no kernel or
  runtime symbol the generated model needs is missing from the project;
- `mcukit boards` says the nano33 has not run on hardware.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from deploy_helpers import (  # noqa: F401 - fixtures, used by name
    Example,
    cpu_workers,
    deploy_cache_fixture,
    deploy_env_fixture,
    examples_fixture,
    run_cli,
    write_tflite,
)

pytestmark = pytest.mark.slow

CPU_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
WARNINGS = ["-Wall", "-Wextra", "-Werror"]
# What ArduinoCore-mbed defines for the Nano 33 BLE (the HAL reads ARDUINO_ARCH_MBED and F_CPU).
CORE_DEFINES = ["-DARDUINO=10810", "-DARDUINO_ARCH_MBED", "-DARDUINO_ARDUINO_NANO33BLE", "-DF_CPU=64000000L"]

ARDUINO_H = r"""
/* Minimal stand-in for the Arduino core's Arduino.h: only what mcukit's Arduino HAL uses (tests only). */
#ifndef MK_TEST_ARDUINO_H
#define MK_TEST_ARDUINO_H
#include <stddef.h>
#include <stdint.h>

unsigned long millis(void);
unsigned long micros(void);
void delay(unsigned long ms);
void yield(void);

/* ArduinoCore-API style: enums, as in ArduinoCore-mbed (AVR-style cores use int macros; both accept the HAL). */
typedef enum { LOW = 0, HIGH = 1 } PinStatus;
typedef enum { INPUT = 0, OUTPUT = 1 } PinMode;
void pinMode(uint8_t pin, PinMode mode);
void digitalWrite(uint8_t pin, PinStatus value);

class HardwareSerialStub {
public:
    void begin(unsigned long baud);
    int available(void);
    int read(void);
    size_t write(uint8_t byte);
    size_t write(const uint8_t *data, size_t n);
    void flush(void);
    explicit operator bool(void);
};
extern HardwareSerialStub Serial;

void setup(void);
void loop(void);
#endif
"""

WIRE_H = r"""
/* Minimal stand-in for Wire.h, shaped like ArduinoCore-API's HardwareI2C (what ArduinoCore-mbed implements). */
#ifndef MK_TEST_WIRE_H
#define MK_TEST_WIRE_H
#include <stddef.h>
#include <stdint.h>

class TwoWireStub {
public:
    void begin(void);
    void setClock(uint32_t freq);
    void beginTransmission(uint8_t address);
    uint8_t endTransmission(bool stopBit);
    uint8_t endTransmission(void);
    size_t requestFrom(uint8_t address, size_t len, bool stopBit);
    size_t requestFrom(uint8_t address, size_t len);
    size_t write(uint8_t byte);
    int available(void);
    int read(void);
};
extern TwoWireStub Wire;
#endif
"""

ARDUINO_STUB_CPP = r"""
/* Definitions for the stub Arduino.h, so the firmware links (tests only; never run). */
#include <Arduino.h>
#include <Wire.h>

static volatile unsigned long ticks;
unsigned long millis(void) { return ticks++; }
unsigned long micros(void) { return ticks++ * 1000ul; }
void delay(unsigned long ms) { ticks += ms; }
void yield(void) {}

HardwareSerialStub Serial;
void HardwareSerialStub::begin(unsigned long baud) { (void)baud; }
int HardwareSerialStub::available(void) { return 0; }
int HardwareSerialStub::read(void) { return -1; }
size_t HardwareSerialStub::write(uint8_t byte) { (void)byte; return 1; }
size_t HardwareSerialStub::write(const uint8_t *data, size_t n) { (void)data; return n; }
void HardwareSerialStub::flush(void) {}
HardwareSerialStub::operator bool(void) { return true; }

void pinMode(uint8_t pin, PinMode mode) { (void)pin; (void)mode; }
void digitalWrite(uint8_t pin, PinStatus value) { (void)pin; (void)value; }

TwoWireStub Wire;
void TwoWireStub::begin(void) {}
void TwoWireStub::setClock(uint32_t freq) { (void)freq; }
void TwoWireStub::beginTransmission(uint8_t address) { (void)address; }
uint8_t TwoWireStub::endTransmission(bool stopBit) { (void)stopBit; return 2; }
uint8_t TwoWireStub::endTransmission(void) { return 2; }
size_t TwoWireStub::requestFrom(uint8_t address, size_t len, bool stopBit) { (void)address; (void)stopBit; return len; }
size_t TwoWireStub::requestFrom(uint8_t address, size_t len) { (void)address; return len; }
size_t TwoWireStub::write(uint8_t byte) { (void)byte; return 1; }
int TwoWireStub::available(void) { return 0; }
int TwoWireStub::read(void) { return -1; }

int main(void)
{
    setup();
    for (;;) {
        loop();
    }
}
"""


@pytest.fixture(scope="module")
def nano33_project(examples: dict[str, Example], deploy_cache: Path, tmp_path_factory: pytest.TempPathFactory):
    if shutil.which("arm-none-eabi-g++") is None:
        pytest.skip("needs arm-none-eabi-g++ (apt-get install libstdc++-arm-none-eabi-newlib)")
    folder = tmp_path_factory.mktemp("nano33")
    tflite = write_tflite(examples["kws"], folder)  # convolutions, depthwise, pooling, FC, softmax; DSP kernels
    return tflite, folder / "project"


def test_project_renders_and_platformio_parses_it(nano33_project, deploy_env: Path, capsys) -> None:
    from platformio.project.config import ProjectConfig

    tflite, out = nano33_project
    result = run_cli(["project", tflite, "--board", "nano33", "-o", out], capsys)
    assert result.code == 0, result.err
    config = ProjectConfig(str(out / "platformio.ini"), parse_extra=False)
    config.validate(silent=True)
    assert config.envs() == ["nano33"]
    assert config.default_envs() == ["nano33"]
    assert config.get("env:nano33", "platform") == "nordicnrf52"
    assert config.get("env:nano33", "board") == "nano33ble"
    assert config.get("env:nano33", "framework") == ["arduino"]
    flags = config.get("env:nano33", "build_flags")
    assert "-DMK_SINGLE_ROUNDING=0" in flags and '-DMK_BOARD_NAME=\\"nano33\\"' in flags, flags
    assert "-DMK_INA219" in flags, flags  # the board file has a [current_sensor]
    library = json.loads((out / "lib" / "mcukit" / "library.json").read_text())
    assert "+<hal/arduino/*.cpp>" in library["build"]["srcFilter"]
    assert "+<kernels/dsp/*.c>" in library["build"]["srcFilter"]  # the nRF52840's M4 has the DSP extension
    assert "+<sensors/*.c>" in library["build"]["srcFilter"]


def _library_sources(lib: Path) -> list[Path]:
    """The files PlatformIO compiles from lib/mcukit, following library.json's srcFilter (+<glob> / -<glob>)."""
    build = json.loads((lib / "library.json").read_text())["build"]
    src = lib / build["srcDir"]
    chosen: set[Path] = set()
    for rule in build["srcFilter"]:
        sign, pattern = rule[0], rule[2:-1]
        matches = {p for p in src.glob(pattern) if p.is_file()} if pattern != "*" else set(src.rglob("*"))
        chosen = chosen | matches if sign == "+" else chosen - matches
    return sorted(p for p in chosen if p.suffix in (".c", ".cpp"))


def _compile(source: Path, obj: Path, includes: list[str], defines: list[str]) -> subprocess.CompletedProcess:
    cpp = source.suffix == ".cpp"
    tool = "arm-none-eabi-g++" if cpp else "arm-none-eabi-gcc"
    std = ["-std=gnu++17", "-fno-exceptions", "-fno-rtti"] if cpp else ["-std=c99"]
    cmd = [tool, *CPU_FLAGS, *std, "-O2", "-ffunction-sections", "-fdata-sections", *WARNINGS, *defines,
           *includes, "-c", str(source), "-o", str(obj)]
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def test_sources_compile_and_link_for_cortex_m4(nano33_project, deploy_env: Path, tmp_path: Path, capsys) -> None:
    from platformio.project.config import ProjectConfig

    tflite, out = nano33_project
    if not (out / "platformio.ini").exists():  # when run alone
        assert run_cli(["project", tflite, "--board", "nano33", "-o", out], capsys).code == 0
    stub = tmp_path / "arduino-stub"
    stub.mkdir()
    (stub / "Arduino.h").write_text(ARDUINO_H)
    (stub / "Wire.h").write_text(WIRE_H)
    (stub / "arduino_stub.cpp").write_text(ARDUINO_STUB_CPP)

    flags = [f for line in ProjectConfig(str(out / "platformio.ini")).get("env:nano33", "build_flags")
             for f in shlex.split(line)]
    lib = out / "lib" / "mcukit"
    sources = sorted((out / "src").glob("*.c")) + sorted((out / "src" / "model").glob("*.c"))
    sources += _library_sources(lib)
    names = {p.name for p in sources}
    assert {"main.c", "model.c", "mk_runtime.c", "mk_hal_arduino.cpp", "mk_ina219.c", "mk_sense.c"} <= names, names
    assert not any("qemu" in str(p) or "/mve/" in str(p) for p in sources)
    includes = [f"-I{lib / 'include'}", f"-I{out / 'src'}", f"-I{out / 'src' / 'model'}", f"-I{stub}"]

    objects = tmp_path / "obj"
    objects.mkdir()
    jobs = [(src, objects / f"{k:03d}-{src.stem}.o") for k, src in enumerate([*sources, stub / "arduino_stub.cpp"])]
    with ThreadPoolExecutor(cpu_workers()) as pool:
        results = list(pool.map(lambda job: _compile(*job, includes, [*CORE_DEFINES, *flags]), jobs))
    failures = [f"{src}:\n{r.stderr}" for (src, _), r in zip(jobs, results) if r.returncode != 0]
    assert not failures, "\n".join(failures)
    assert len(jobs) >= 20  # main, the model, the kernels (portable and DSP), the runtime, the HAL, the stub

    # Also without ARDUINO_ARCH_MBED (STM32duino-style cores): the HAL's own HardFault handler compiles in.
    hal = next(p for p in sources if p.name == "mk_hal_arduino.cpp")
    other = _compile(hal, tmp_path / "hal-nombed.o", includes, [d for d in CORE_DEFINES if "MBED" not in d] + flags)
    assert other.returncode == 0, other.stderr
    # With an inference marker pin (an optional build flag), the HAL's mk_hal_marker compiles in.
    marker = _compile(hal, tmp_path / "hal-marker.o", includes, [*CORE_DEFINES, *flags, "-DMK_MARKER_PIN=13"])
    assert marker.returncode == 0, marker.stderr

    elf = tmp_path / "firmware.elf"
    link = subprocess.run(["arm-none-eabi-g++", *CPU_FLAGS, "--specs=nosys.specs", "-Wl,--gc-sections",
                           *[str(obj) for _, obj in jobs], "-o", str(elf)], capture_output=True, text=True,
                          check=False)
    assert link.returncode == 0, link.stderr
    symbols = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True, check=True).stdout
    defined = {line.split()[-1] for line in symbols.splitlines() if line.split()[-2:-1] in (["T"], ["t"])}
    assert {"mk_model_invoke", "mk_runtime_run", "mk_main", "_Z5setupv", "mk_hal_write"} <= defined
    assert {"mk_i2c_read_reg", "mk_i2c_write_reg", "mk_ina219_init", "mk_ina219_log_send"} <= defined


def test_boards_says_nano33_never_ran_on_hardware(capsys) -> None:
    table = run_cli(["boards"], capsys)
    assert table.code == 0
    row = next(line for line in table.out.splitlines() if line.startswith("nano33 "))
    assert "not run on hardware" in row
    listing = run_cli(["boards", "--json"], capsys)
    data = json.loads(listing.out)
    boards = data["boards"] if isinstance(data, dict) else data
    nano = next(b for b in boards if b["name"] == "nano33")
    assert "not run on hardware" in nano["verified"]
    assert nano["emulated"] is False
