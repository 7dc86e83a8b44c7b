"""The `mcukit test` configuration: models, boards, test data and budgets, from mcukit.toml or pyproject.toml.

    boards = ["qemu-m4"]                 # every model runs on these unless it names its own
    baseline = "mcukit-baseline.json"    # for max_regression_pct (written by `mcukit test --update-baseline`)

    [budgets]                            # defaults for every model
    bit_exact = true

    [board.nano33]                       # how to reach a real board
    port = "usb:2341:805a"               # or "/dev/ttyACM0", or serial_number = "..."

    [[model]]
    path = "kws.h5"                      # relative to this file
    test_data = "kws_test.npz"           # x [and y labels], or a folder of .npy (one sample each)
    [model.budgets]
    max_flash_bytes = 120_000
    max_latency = "2_500_000 instructions"
    [model.board.nano33]                 # per-board overrides of the budgets
    max_latency = "40 ms"

Every mistake (unknown key, wrong type, a latency unit the board cannot report) is a UsageError naming the file and
the key, raised before anything is built. docs/ci.md is the full reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from mcukit.boards import Board, get_board
from mcukit.errors import McukitError, UsageError

CONFIG_NAMES = ("mcukit.toml", "pyproject.toml")
LATENCY_UNITS = ("instructions", "cycles", "ms")
DEFAULT_BASELINE = "mcukit-baseline.json"
_HINT = "see docs/ci.md for the mcukit.toml format"


@dataclass(frozen=True)
class Latency:
    value: float
    unit: str  # one of LATENCY_UNITS

    def __str__(self) -> str:
        return f"{_num(self.value)} {self.unit}"


@dataclass(frozen=True)
class Budgets:
    """What a model must meet on a board. None = not checked."""

    max_flash_bytes: int | None = None
    max_ram_bytes: int | None = None
    max_arena_bytes: int | None = None
    max_latency: Latency | None = None
    max_energy_uj: float | None = None
    bit_exact: bool | None = None
    min_accuracy: float | None = None
    max_regression_pct: float | None = None

    def merged(self, override: Budgets) -> Budgets:
        """self with every field that `override` sets replaced."""
        changes = {f.name: getattr(override, f.name) for f in fields(override) if getattr(override, f.name) is not None}
        return replace(self, **changes)


BUDGET_KEYS = tuple(f.name for f in fields(Budgets))


@dataclass(frozen=True)
class BoardSettings:
    """How to reach one board. port: a device path, socket:// URL, or "usb:VVVV:PPPP" (first port with that USB
    id); serial_number: the USB serial number of the one board to use (several identical boards attached)."""

    port: str | None = None
    serial_number: str | None = None


@dataclass(frozen=True)
class ModelSpec:
    name: str
    path: Path
    test_data: tuple[Path, ...] = ()  # one per model input: .npz/.npy files, or one folder of .npy
    calibration: Path | None = None
    samples: int | None = None
    boards: tuple[str, ...] = ()  # board names as written; empty = the config's boards
    budgets: Budgets = field(default_factory=Budgets)
    board_budgets: dict[str, Budgets] = field(default_factory=dict)  # canonical board name -> overrides
    build_flags: tuple[str, ...] = ()
    reference: str = "tflm"


@dataclass(frozen=True)
class HilConfig:
    path: Path  # the file it came from
    models: tuple[ModelSpec, ...]
    boards: tuple[str, ...]
    board_settings: dict[str, BoardSettings]  # canonical board name -> settings
    baseline: Path
    retries: int = 2  # extra attempts after a device error (flaky handshake, re-enumeration)
    timeout: float = 300.0  # seconds a whole case (build + run) may take before it counts as hung
    invoke_timeout: float = 20.0  # seconds one inference may take

    @property
    def root(self) -> Path:
        return self.path.parent


@dataclass(frozen=True)
class Case:
    """One model on one board: a testsuite in the JUnit report, one testcase per check."""

    model: ModelSpec
    board: Board
    budgets: Budgets
    settings: BoardSettings

    @property
    def key(self) -> str:
        return f"{self.model.name}@{self.board.name}"


# ------------------------------------------------------------------------------------------------------- loading


def find_config(path: str | Path | None = None) -> Path:
    """The config file: `path` if given (a file, or a folder holding mcukit.toml / pyproject.toml), else
    ./mcukit.toml, else ./pyproject.toml with a [tool.mcukit] table."""
    if path is not None:
        p = Path(path)
        if p.is_dir():
            return find_config_in(p)
        if not p.is_file():
            raise UsageError(f"config file {p} does not exist", "pass the path of a mcukit.toml, or see docs/ci.md")
        return p
    return find_config_in(Path.cwd())


def find_config_in(folder: Path) -> Path:
    for name in CONFIG_NAMES:
        candidate = folder / name
        if candidate.is_file() and (name != "pyproject.toml" or _has_tool_table(candidate)):
            return candidate
    raise UsageError(f"no mcukit.toml (or pyproject.toml with [tool.mcukit]) in {folder}",
                     "write one (examples/mcukit.toml is a start) or pass its path: mcukit test path/to/mcukit.toml")


def _has_tool_table(path: Path) -> bool:
    try:
        return "mcukit" in _read_toml(path).get("tool", {})
    except UsageError:
        return False


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror}", _HINT) from err
    except tomllib.TOMLDecodeError as err:
        raise UsageError(f"{path}: not valid TOML: {err}", _HINT) from err


def load_config(path: str | Path | None = None) -> HilConfig:
    """Find, read and validate the config (see the module docstring)."""
    file = find_config(path).resolve()
    raw = _read_toml(file)
    if file.name == "pyproject.toml":
        table = raw.get("tool", {}).get("mcukit")
        if table is None:
            raise UsageError(f"{file} has no [tool.mcukit] table", _HINT)
        where = "tool.mcukit"
    else:
        table, where = raw, ""
    return parse_config(table, file, where)


class _Table:
    """Typed access to one TOML table; errors name the file and the dotted key, unknown keys are refused."""

    def __init__(self, data: Any, where: str, origin: Path) -> None:
        if not isinstance(data, dict):
            raise UsageError(f"{origin}: [{where}] must be a table", _HINT)
        self.data, self.where, self.origin = data, where, origin
        self.used: set[str] = set()

    def label(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def error(self, key: str, what: str) -> UsageError:
        return UsageError(f"{self.origin}: '{self.label(key)}' {what}", _HINT)

    def get(self, key: str, kinds: type | tuple[type, ...], default: Any = None) -> Any:
        self.used.add(key)
        if key not in self.data:
            return default
        value = self.data[key]
        kinds_t = kinds if isinstance(kinds, tuple) else (kinds,)
        if isinstance(value, bool) and bool not in kinds_t or not isinstance(value, kinds_t):
            names = " or ".join(k.__name__ for k in kinds_t)
            raise self.error(key, f"must be {names}, got {type(value).__name__} {value!r}")
        return value

    def number(self, key: str, *, minimum: float = 0.0, integer: bool = False) -> Any:
        value = self.get(key, int if integer else (int, float))
        if value is not None and value < minimum:
            raise self.error(key, f"must be at least {_num(minimum)}, got {_num(value)}")
        return value

    def str_list(self, key: str) -> tuple[str, ...]:
        value = self.get(key, (str, list))
        if value is None:
            return ()
        items = [value] if isinstance(value, str) else value
        if not all(isinstance(v, str) for v in items):
            raise self.error(key, "must be a string or a list of strings")
        return tuple(items)

    def sub(self, key: str) -> _Table | None:
        self.used.add(key)
        if key not in self.data:
            return None
        return _Table(self.data[key], self.label(key), self.origin)

    def done(self, allowed_extra: tuple[str, ...] = ()) -> None:
        unknown = sorted(set(self.data) - self.used - set(allowed_extra))
        if unknown:
            known = ", ".join(sorted(self.used))
            raise UsageError(f"{self.origin}: unknown key(s) {', '.join(repr(self.label(k)) for k in unknown)}",
                             f"known keys here: {known} (see docs/ci.md)")


_LATENCY_RE = re.compile(r"^\s*([0-9][0-9_]*(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]+)\s*$")


def parse_latency(value: Any, unit: Any, t: _Table) -> Latency | None:
    """max_latency = "250000 instructions" / "12.5 ms", or a number with latency_unit = "cycles"."""
    if value is None:
        if unit is not None:
            raise t.error("latency_unit", "is given without max_latency")
        return None
    if isinstance(value, str):
        match = _LATENCY_RE.match(value)
        if not match:
            raise t.error("max_latency", f"must look like \"250000 instructions\" or \"12.5 ms\", got {value!r}")
        number, unit_text = float(match.group(1).replace("_", "")), match.group(2).lower()
        if unit is not None and unit != unit_text:
            raise t.error("latency_unit", f"says {unit!r} but max_latency says {unit_text!r}")
        unit = unit_text
    else:
        number = float(value)
        if unit is None:
            raise t.error("max_latency", f"needs a unit: write \"{_num(number)} instructions\" (emulated boards), "
                                         "\"... cycles\" or \"... ms\" (real boards), or set latency_unit")
    if unit not in LATENCY_UNITS:
        raise t.error("max_latency", f"unit {unit!r} is not one of {', '.join(LATENCY_UNITS)}")
    if number <= 0:
        raise t.error("max_latency", "must be positive")
    return Latency(number, unit)


def parse_budgets(t: _Table) -> Budgets:
    latency = parse_latency(t.get("max_latency", (int, float, str)), t.get("latency_unit", str), t)
    accuracy = t.number("min_accuracy")
    if accuracy is not None and accuracy > 1:
        raise t.error("min_accuracy", f"is a fraction in 0..1 (0.9 = 90 %), got {accuracy}")
    return Budgets(
        max_flash_bytes=t.number("max_flash_bytes", integer=True),
        max_ram_bytes=t.number("max_ram_bytes", integer=True),
        max_arena_bytes=t.number("max_arena_bytes", integer=True),
        max_latency=latency,
        max_energy_uj=t.number("max_energy_uj"),
        bit_exact=t.get("bit_exact", bool),
        min_accuracy=float(accuracy) if accuracy is not None else None,
        max_regression_pct=t.number("max_regression_pct"),
    )


def _board_name(name: str, origin: Path, key: str) -> str:
    try:
        return get_board(name).name
    except McukitError as err:
        raise UsageError(f"{origin}: '{key}' names {err.message}", err.hint) from err


def _paths(t: _Table, key: str, root: Path) -> tuple[Path, ...]:
    return tuple((root / p) for p in t.str_list(key))


def parse_config(table: dict[str, Any], origin: Path, where: str = "") -> HilConfig:
    root = origin.parent
    top = _Table(table, where, origin)
    boards = tuple(_board_name(b, origin, top.label("boards")) for b in top.str_list("boards"))
    default_budgets = Budgets()
    bt = top.sub("budgets")
    if bt is not None:
        default_budgets = parse_budgets(bt)
        bt.done()

    settings: dict[str, BoardSettings] = {}
    board_t = top.sub("board")
    if board_t is not None:
        for name in board_t.data:
            st = board_t.sub(name)
            assert st is not None
            port = st.get("port", str)
            serial_number = st.get("serial_number", str)
            if port and serial_number:
                raise st.error("serial_number", "and 'port' both choose the port: give one of them")
            settings[_board_name(name, origin, board_t.label(name))] = BoardSettings(port, serial_number)
            st.done()
        board_t.done()

    retries = top.number("retries", integer=True)
    timeout = top.number("timeout", minimum=0.001)
    invoke_timeout = top.number("invoke_timeout", minimum=1e-6)
    baseline = root / top.get("baseline", str, DEFAULT_BASELINE)

    models_raw = top.get("model", list, [])
    top.used.add("models")
    if "models" in table:
        raise top.error("models", "is spelled [[model]] (one table per model)")
    if not models_raw:
        raise UsageError(f"{origin}: no models: add a [[{top.label('model')}]] table with a path", _HINT)
    models: list[ModelSpec] = []
    for i, entry in enumerate(models_raw):
        models.append(_parse_model(_Table(entry, f"{top.label('model')}[{i}]", origin), root, default_budgets))
    top.done()
    names = [m.name for m in models]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UsageError(f"{origin}: several models are named {', '.join(map(repr, dupes))}",
                         "give each [[model]] a distinct name = \"...\"")
    return HilConfig(
        path=origin, models=tuple(models), boards=boards, board_settings=settings, baseline=baseline,
        retries=2 if retries is None else int(retries),
        timeout=300.0 if timeout is None else float(timeout),
        invoke_timeout=20.0 if invoke_timeout is None else float(invoke_timeout),
    )


def _parse_model(t: _Table, root: Path, defaults: Budgets) -> ModelSpec:
    path_text = t.get("path", str)
    if not path_text:
        raise t.error("path", "is required (the model file, relative to the config)")
    path = root / path_text
    if not path.is_file():
        raise t.error("path", f"names {path}, which does not exist")
    test_data = _paths(t, "test_data", root)
    for p in test_data:
        if not p.exists():
            raise t.error("test_data", f"names {p}, which does not exist")
    if any(p.is_dir() for p in test_data) and len(test_data) != 1:
        raise t.error("test_data", "may be one folder of .npy files, or one file per model input, not both")
    calibration = t.get("calibration", str)
    samples = t.number("samples", minimum=1, integer=True)
    reference = t.get("reference", str, "tflm")
    if reference not in ("tflm", "litert"):
        raise t.error("reference", f"must be \"tflm\" or \"litert\", got {reference!r}")
    budgets = defaults
    bt = t.sub("budgets")
    if bt is not None:
        budgets = defaults.merged(parse_budgets(bt))
        bt.done()
    overrides: dict[str, Budgets] = {}
    ot = t.sub("board")
    if ot is not None:
        for name in ot.data:
            sub = ot.sub(name)
            assert sub is not None
            overrides[_board_name(name, t.origin, ot.label(name))] = parse_budgets(sub)
            sub.done()
        ot.done()
    boards = tuple(_board_name(b, t.origin, t.label("boards")) for b in t.str_list("boards"))
    spec = ModelSpec(
        name=t.get("name", str) or path.stem, path=path, test_data=test_data,
        calibration=root / calibration if calibration else None, samples=samples, boards=boards,
        budgets=budgets, board_budgets=overrides, build_flags=t.str_list("build_flags"), reference=reference,
    )
    t.done()
    return spec


# --------------------------------------------------------------------------------------------------------- cases


def board_latency_units(board: Board) -> tuple[str, ...]:
    """Units a board's latency can be checked in: emulated boards count instructions exactly (QEMU plugin) and
    estimate cycles from them (timing model; checked as an estimate, docs/ci.md), but have no clock, so no ms;
    real boards count cycles, which convert to ms at the board clock."""
    return ("instructions", "cycles") if board.emulator is not None else ("cycles", "ms")


def make_cases(cfg: HilConfig, boards: tuple[str, ...] = ()) -> list[Case]:
    """Every model x board to run. `boards` (from --board) replaces the boards of the config and the models."""
    chosen = tuple(_board_name(b, cfg.path, "--board") for b in boards)
    cases: list[Case] = []
    for model in cfg.models:
        names = chosen or model.boards or cfg.boards
        if not names:
            raise UsageError(f"{cfg.path}: no board for model {model.name!r}",
                             "set boards = [\"qemu-m4\"] in the config (or in the [[model]]), or pass --board")
        for name in dict.fromkeys(names):
            board = get_board(name)
            budgets = model.budgets.merged(model.board_budgets.get(board.name, Budgets()))
            if budgets.bit_exact is None and budgets.min_accuracy is None:
                budgets = replace(budgets, bit_exact=True)  # mcukit's promise, checked unless switched off
            lat = budgets.max_latency
            if lat is not None and lat.unit not in board_latency_units(board):
                units = " or ".join(board_latency_units(board))
                kind = ("an emulated board (exact instructions and estimated cycles, no clock)" if board.emulated
                        else "a real board")
                raise UsageError(
                    f"{cfg.path}: model {model.name!r} has max_latency in {lat.unit}, but {board.name} is {kind} "
                    f"and reports latency in {units}",
                    f"give this board its own budget: [model.board.{board.name}] max_latency = \"N {units.split()[0]}\"",
                )
            if budgets.min_accuracy is not None:
                _require_labels(model, cfg.path)
            cases.append(Case(model, board, budgets, cfg.board_settings.get(board.name, BoardSettings())))
    return cases


def _require_labels(model: ModelSpec, origin: Path) -> None:
    from mcukit.hil.data import has_labels

    if not model.test_data or not has_labels(model.test_data):
        raise UsageError(f"{origin}: model {model.name!r} sets min_accuracy but its test data has no labels",
                         "add labels: `y` in the .npz, or labels.npy in the folder of samples")


def _num(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4g}"
