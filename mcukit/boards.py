"""Boards are data: one TOML file per board under `boards/`, loaded and validated here.

A `Board` says what the code generator may use (core, ISA features), what must fit (flash, RAM), how PlatformIO
builds for it (platform, board id, framework, flags, upload method), how the host finds and talks to it (baud,
USB ids), how energy is modelled (datasheet current per MHz and supply voltage) and, for emulated boards, how QEMU
runs it. `verified` states honestly what the board definition was checked on.

    >>> from mcukit.boards import get_board, DEFAULT_BOARD
    >>> get_board(DEFAULT_BOARD).core
    'cortex-m4'
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from mcukit.errors import BoardError, DependencyError
from mcukit.paths import data_dir

DEFAULT_BOARD = "qemu-m4"

CORES = ("cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")
# Which ISA extensions each core can have at all (a board may still lack an optional one, e.g. an M4 without FPU).
_CORE_ISA: dict[str, frozenset[str]] = {
    "cortex-m0plus": frozenset(),
    "cortex-m3": frozenset(),
    "cortex-m4": frozenset({"dsp", "fpu"}),
    "cortex-m7": frozenset({"dsp", "fpu"}),
    "cortex-m33": frozenset({"dsp", "fpu"}),
    "cortex-m55": frozenset({"dsp", "fpu", "mve"}),
}
HALS = ("qemu_mps2", "arduino")
LOCAL_PLATFORM_PREFIX = "local:"


@dataclass(frozen=True)
class Isa:
    dsp: bool = False
    fpu: bool = False
    mve: bool = False

    @property
    def features(self) -> tuple[str, ...]:
        """The enabled extensions by name, e.g. ("dsp", "fpu"): what `LowerOptions(isa=...)` takes."""
        return tuple(name for name in ("dsp", "fpu", "mve") if getattr(self, name))


@dataclass(frozen=True)
class PlatformIO:
    platform: str  # a registry platform ("nordicnrf52") or "local:<folder under boards/>"
    board: str
    framework: str = ""  # "" for bare metal (the emulated boards)
    build_flags: tuple[str, ...] = ()
    upload_protocol: str = ""

    @property
    def is_local(self) -> bool:
        return self.platform.startswith(LOCAL_PLATFORM_PREFIX)

    @property
    def local_dir(self) -> Path | None:
        """The shipped platform folder for local platforms, else None."""
        if not self.is_local:
            return None
        return data_dir("boards") / self.platform[len(LOCAL_PLATFORM_PREFIX) :]

    @property
    def platform_spec(self) -> str:
        """What goes after `platform =` in platformio.ini. Local platforms need an ABSOLUTE symlink:// URI:
        relative ones collide between projects and file:// copies go stale. The `NAME=` prefix gives each platform
        folder its own link in the core dir (PlatformIO names the link after NAME, by default the folder name):
        without it, two checkouts sharing a core re-point one link and break each other's concurrent builds."""
        local = self.local_dir
        if local is None:
            return self.platform
        path = str(local.resolve())
        return f"{local.name}-{hashlib.sha256(path.encode()).hexdigest()[:10]}=symlink://{path}"

    @property
    def platform_name(self) -> str:
        """The platform's name as PlatformIO installs it (folder under the core dir's platforms/)."""
        return self.platform[len(LOCAL_PLATFORM_PREFIX) :] if self.is_local else self.platform.split("@")[0]


@dataclass(frozen=True)
class SerialLink:
    baud: int = 115200
    usb_ids: tuple[tuple[int, int], ...] = ()  # (vid, pid) pairs for auto-detecting the port


@dataclass(frozen=True)
class Power:
    """Datasheet run-mode figures for energy modelling (the TOML comment cites the datasheet)."""

    active_ua_per_mhz: float
    supply_v: float
    source: str

    def active_power_w(self, clock_hz: int) -> float:
        return self.active_ua_per_mhz * 1e-6 * (clock_hz / 1e6) * self.supply_v


@dataclass(frozen=True)
class CurrentSensor:
    kind: str  # "ina219"
    i2c_address: int
    shunt_ohms: float


@dataclass(frozen=True)
class Emulator:
    machine: str  # qemu-system-arm -machine
    cpu: str  # qemu-system-arm -cpu
    uart_base: int
    uart_rx_irq: int
    linker_script: str  # under firmware/src/hal/qemu_mps2/ld/
    counter_hz: int  # SysTick rate under QEMU


@dataclass(frozen=True)
class Board:
    name: str
    aliases: tuple[str, ...]
    description: str
    core: str
    isa: Isa
    clock_hz: int
    flash_bytes: int
    ram_bytes: int
    platformio: PlatformIO
    serial: SerialLink
    power: Power
    hal: str
    verified: str
    emulator: Emulator | None = None
    current_sensor: CurrentSensor | None = None
    source: Path | None = None

    @property
    def emulated(self) -> bool:
        return self.emulator is not None

    @property
    def env_name(self) -> str:
        """The PlatformIO environment name mcukit uses for this board."""
        return self.name


# ---------------------------------------------------------------------------------------------------------- loading


def _toml_loads(text: str) -> dict[str, Any]:
    try:
        import tomllib  # Python 3.11+
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError as err:
            raise DependencyError("reading board files on Python 3.10 needs tomli", "pip install tomli") from err
    return tomllib.loads(text)


class _Fields:
    """Typed access to one TOML table that reports missing/mistyped/unknown keys with the file and table name."""

    def __init__(self, data: Any, where: str, origin: str) -> None:
        if not isinstance(data, dict):
            raise BoardError(f"{origin}: [{where}] must be a table", _HINT)
        self.data = data
        self.where = where
        self.origin = origin
        self.used: set[str] = set()

    def _label(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ..., *, required: bool = True) -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is ... and required:
                raise BoardError(f"{self.origin}: missing field '{self._label(key)}'", _HINT)
            return None if default is ... else default
        value = self.data[key]
        # bool is an int in Python; an int field must not silently accept true/false.
        if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise BoardError(
                f"{self.origin}: field '{self._label(key)}' must be {names}, got {type(value).__name__}", _HINT
            )
        return value

    def positive_int(self, key: str) -> int:
        value = self.get(key, int)
        if value <= 0:
            raise BoardError(f"{self.origin}: field '{self._label(key)}' must be positive, got {value}", _HINT)
        return value

    def table(self, key: str, *, required: bool = True) -> _Fields | None:
        self.used.add(key)
        if key not in self.data:
            if required:
                raise BoardError(f"{self.origin}: missing table [{self._label(key)}]", _HINT)
            return None
        return _Fields(self.data[key], self._label(key), self.origin)

    def str_list(self, key: str) -> tuple[str, ...]:
        value = self.get(key, list, [])
        if not all(isinstance(v, str) for v in value):
            raise BoardError(f"{self.origin}: field '{self._label(key)}' must be a list of strings", _HINT)
        return tuple(value)

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise BoardError(
                f"{self.origin}: unknown field(s) {', '.join(repr(self._label(k)) for k in unknown)}",
                "check the spelling against docs/boards.md",
            )


_HINT = "see docs/boards.md for the board file format"


def _usb_id(text: str, origin: str) -> tuple[int, int]:
    try:
        vid, pid = text.split(":")
        return int(vid, 16), int(pid, 16)
    except ValueError as err:
        raise BoardError(f"{origin}: USB id {text!r} is not 'vvvv:pppp' (hex)", _HINT) from err


def parse_board(text: str, origin: str = "<board>") -> Board:
    """Parse and validate one board TOML document. Raises BoardError naming the file and the field."""
    try:
        raw = _toml_loads(text)
    except ValueError as err:  # tomllib.TOMLDecodeError is a ValueError
        raise BoardError(f"{origin}: not valid TOML: {err}", _HINT) from err
    top = _Fields(raw, "", origin)

    name = top.get("name", str)
    core = top.get("core", str)
    if core not in CORES:
        raise BoardError(f"{origin}: core {core!r} is not one of {', '.join(CORES)}", _HINT)

    isa_t = top.table("isa")
    assert isa_t is not None
    isa = Isa(dsp=isa_t.get("dsp", bool), fpu=isa_t.get("fpu", bool), mve=isa_t.get("mve", bool))
    isa_t.done()
    impossible = set(isa.features) - _CORE_ISA[core]
    if impossible:
        raise BoardError(f"{origin}: a {core} has no {', '.join(sorted(impossible))} extension", _HINT)

    pio_t = top.table("platformio")
    assert pio_t is not None
    pio = PlatformIO(
        platform=pio_t.get("platform", str),
        board=pio_t.get("board", str),
        framework=pio_t.get("framework", str, ""),
        build_flags=pio_t.str_list("build_flags"),
        upload_protocol=pio_t.get("upload_protocol", str, ""),
    )
    pio_t.done()
    if pio.is_local and pio.local_dir is not None and not (pio.local_dir / "platform.json").is_file():
        raise BoardError(f"{origin}: local platform {pio.platform!r} not found at {pio.local_dir}", _HINT)

    serial_t = top.table("serial")
    assert serial_t is not None
    serial = SerialLink(
        baud=serial_t.get("baud", int, 115200),
        usb_ids=tuple(_usb_id(u, origin) for u in serial_t.str_list("usb_ids")),
    )
    serial_t.done()

    power_t = top.table("power")
    assert power_t is not None
    power = Power(
        active_ua_per_mhz=float(power_t.get("active_ua_per_mhz", (int, float))),
        supply_v=float(power_t.get("supply_v", (int, float))),
        source=power_t.get("source", str),
    )
    power_t.done()
    if power.active_ua_per_mhz <= 0 or power.supply_v <= 0:
        raise BoardError(f"{origin}: power figures must be positive", _HINT)

    sensor = None
    sensor_t = top.table("current_sensor", required=False)
    if sensor_t is not None:
        sensor = CurrentSensor(
            kind=sensor_t.get("kind", str),
            i2c_address=sensor_t.get("i2c_address", int),
            shunt_ohms=float(sensor_t.get("shunt_ohms", (int, float))),
        )
        sensor_t.done()

    hal = top.get("hal", str)
    if hal not in HALS:
        raise BoardError(f"{origin}: hal {hal!r} is not one of {', '.join(HALS)}", _HINT)

    emulator = None
    emu_t = top.table("emulator", required=False)
    if emu_t is not None:
        emulator = Emulator(
            machine=emu_t.get("machine", str),
            cpu=emu_t.get("cpu", str),
            uart_base=emu_t.get("uart_base", int),
            uart_rx_irq=emu_t.get("uart_rx_irq", int),
            linker_script=emu_t.get("linker_script", str),
            counter_hz=emu_t.positive_int("counter_hz"),
        )
        emu_t.done()
    if (hal == "qemu_mps2") != (emulator is not None):
        raise BoardError(f"{origin}: boards with hal 'qemu_mps2' need an [emulator] table (and only they)", _HINT)

    board = Board(
        name=name,
        aliases=top.str_list("aliases"),
        description=top.get("description", str),
        core=core,
        isa=isa,
        clock_hz=top.positive_int("clock_hz"),
        flash_bytes=top.positive_int("flash_bytes"),
        ram_bytes=top.positive_int("ram_bytes"),
        platformio=pio,
        serial=serial,
        power=power,
        hal=hal,
        verified=top.get("verified", str),
        emulator=emulator,
        current_sensor=sensor,
        source=Path(origin) if origin and not origin.startswith("<") else None,
    )
    top.done()
    return board


def load_board_file(path: Path) -> Board:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise BoardError(f"cannot read board file {path}: {err.strerror}", _HINT) from err
    board = parse_board(text, str(path))
    if board.name != path.stem:
        raise BoardError(f"{path}: name {board.name!r} must match the file name {path.stem!r}", _HINT)
    return board


def load_boards(directory: Path | None = None) -> dict[str, Board]:
    """All boards in `directory` (default: the shipped boards/), by name, sorted. Checks aliases are unique."""
    folder = directory if directory is not None else data_dir("boards")
    boards: dict[str, Board] = {}
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.toml")):
        board = load_board_file(path)
        for key in (board.name, *board.aliases):
            key = key.lower()
            if key in seen:
                raise BoardError(f"{path}: name or alias {key!r} is already used by board {seen[key]!r}", _HINT)
            seen[key] = board.name
        boards[board.name] = board
    return boards


@cache
def _shipped_boards() -> dict[str, Board]:
    return load_boards()


def all_boards() -> dict[str, Board]:
    """The shipped boards by name (loaded once)."""
    return dict(_shipped_boards())


def board_names() -> list[str]:
    return list(_shipped_boards())


def get_board(name: str | None = None, boards: dict[str, Board] | None = None) -> Board:
    """Look a board up by name or alias (case-insensitive); None means DEFAULT_BOARD.

    Unknown names raise BoardError listing the known boards, with a did-you-mean suggestion."""
    table = boards if boards is not None else _shipped_boards()
    wanted = (name or DEFAULT_BOARD).strip().lower()
    by_key: dict[str, Board] = {}
    for board in table.values():
        for key in (board.name, *board.aliases):
            by_key[key.lower()] = board
    if wanted in by_key:
        return by_key[wanted]
    close = difflib.get_close_matches(wanted, list(by_key), n=1, cutoff=0.6)
    hint = f"did you mean '{by_key[close[0]].name}'? " if close else ""
    hint += f"known boards: {', '.join(sorted(table))} (`mcukit boards` lists them)"
    raise BoardError(f"unknown board {name!r}", hint)
