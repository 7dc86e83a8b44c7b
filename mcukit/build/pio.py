"""PlatformIO's core directory, prepared so that emulated boards build fully offline, and running `pio`.

PlatformIO needs its `tool-scons` package before it builds anything and downloads it on first use; offline that
download fails only after about a minute. mcukit installs a small local stand-in instead (SCons itself is a pinned
pip dependency), plus a toolchain package of symlinks to the system arm-none-eabi tools, into a core directory it
owns (default: `<cache>/platformio`, or MCUKIT_PIO_CORE_DIR). Registry platforms for real boards are checked
before `pio` runs, so an offline machine gets a clear error in milliseconds instead of a one-minute stall.

Concurrency: several mcukit processes (`mcukit test --jobs`, CI jobs, checkouts) share one core. Everything
mcukit writes into it (shims, local platform links) is written under the core's lock file and replaced in one
step, before `pio run` needs it, so concurrent builds only read the core and never wait for each other.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from mcukit.boards import Board
from mcukit.errors import BoardError, DependencyError
from mcukit.paths import cache_dir

TOOLCHAIN_PACKAGE = "toolchain-gccarmnoneeabi-system"  # declared (optional) in boards/platform-mcukit-qemu
TOOLCHAIN_TOOLS = ("gcc", "g++", "cpp", "as", "ld", "ar", "ranlib", "objcopy", "objdump", "size", "nm", "strip",
                   "readelf", "gdb", "gcc-ar", "gcc-nm", "gcc-ranlib", "addr2line", "c++filt")
APT_TOOLCHAIN = "gcc-arm-none-eabi libnewlib-arm-none-eabi"
_STAMP = ".mcukit-core"  # bump _CORE_LAYOUT when the layout written here changes
_CORE_LAYOUT = 1


@dataclass(frozen=True)
class PioCore:
    """A prepared PlatformIO core directory and the environment `pio` must run with."""

    core_dir: Path
    env: dict[str, str]

    @property
    def platforms_dir(self) -> Path:
        return self.core_dir / "platforms"

    @property
    def packages_dir(self) -> Path:
        return self.core_dir / "packages"


def default_core_dir() -> Path:
    root = os.environ.get("MCUKIT_PIO_CORE_DIR")
    return Path(root) if root else cache_dir() / "platformio"


def pio_environment(core_dir: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """The process environment for `pio`: our core dir, no upgrade check (a ~63 s stall once a week offline),
    no telemetry."""
    env = dict(os.environ if base is None else base)
    env.update(
        PLATFORMIO_CORE_DIR=str(core_dir),
        PLATFORMIO_DISABLE_UPGRADE_CHECK="true",
        PLATFORMIO_SETTING_ENABLE_TELEMETRY="no",
        PLATFORMIO_SETTING_CHECK_PLATFORMIO_INTERVAL="3650",
        PLATFORMIO_NO_ANSI="true",
        PYTHONIOENCODING="utf-8",
    )
    return env


def find_toolchain() -> Path:
    """Directory holding arm-none-eabi-gcc, or DependencyError naming the packages to install."""
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        raise DependencyError(
            "the arm-none-eabi toolchain (arm-none-eabi-gcc) is not installed",
            f"on Debian/Ubuntu: sudo apt-get install {APT_TOOLCHAIN}",
        )
    return Path(gcc).resolve().parent


def _scons_requirement() -> str:
    from platformio.dependencies import get_core_dependencies

    return get_core_dependencies()["tool-scons"]


def _write_atomic(path: Path, text: str) -> None:
    """Replace `path` in one step: a `pio` running meanwhile reads the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _write_json(path: Path, data: dict) -> None:
    _write_atomic(path, json.dumps(data, indent=1) + "\n")


def _install_scons_shim(packages: Path) -> None:
    """A `tool-scons` package whose scons.py runs the pip-installed SCons. PlatformIO only accepts it with a .piopm
    whose spec owner is "platformio" and a version inside the range it requires."""
    requirement = _scons_requirement()
    version = requirement.lstrip("~^=<>! ")
    pkg = packages / "tool-scons"
    pkg.mkdir(parents=True, exist_ok=True)
    _write_json(pkg / "package.json", {"name": "tool-scons", "version": version,
                                       "description": "mcukit stand-in: runs the SCons installed with pip"})
    _write_json(pkg / ".piopm", {"type": "tool", "name": "tool-scons", "version": version,
                                 "spec": {"owner": "platformio", "id": None, "name": "tool-scons",
                                          "requirements": None, "uri": None}})
    _write_atomic(
        pkg / "scons.py",
        "# mcukit stand-in for PlatformIO's tool-scons: the SCons pinned in mcukit's dependencies.\n"
        "import sys\n\n"
        "import SCons.Script\n\n"
        "if __name__ == '__main__':\n"
        "    sys.exit(SCons.Script.main())\n",
    )


def _install_toolchain_shim(packages: Path, bin_dir: Path) -> None:
    """Links to the system tools. Updated link by link (never removed and recreated as a whole), so a build
    running from this core while another process refreshes it always finds its compiler."""
    pkg = packages / TOOLCHAIN_PACKAGE
    (pkg / "bin").mkdir(parents=True, exist_ok=True)
    wanted: set[str] = set()
    for tool in TOOLCHAIN_TOOLS:
        target = bin_dir / f"arm-none-eabi-{tool}"
        if not target.exists():
            continue
        wanted.add(target.name)
        link = pkg / "bin" / target.name
        if link.is_symlink() and Path(os.readlink(link)) == target:
            continue
        tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(target)
        os.replace(tmp, link)
    for stale in (pkg / "bin").iterdir():
        if stale.name not in wanted and not stale.name.startswith("."):
            stale.unlink()
    _write_json(pkg / "package.json", {"name": TOOLCHAIN_PACKAGE, "version": "1.0.0",
                                       "description": f"mcukit: symlinks to the system toolchain in {bin_dir}",
                                       "system": ["linux_x86_64", "linux_aarch64", "darwin_x86_64", "darwin_arm64"]})
    _write_json(pkg / ".piopm", {"type": "tool", "name": TOOLCHAIN_PACKAGE, "version": "1.0.0",
                                 "spec": {"owner": "mcukit", "id": None, "name": TOOLCHAIN_PACKAGE,
                                          "requirements": None, "uri": None}})


def prepare_core(core_dir: Path | None = None) -> PioCore:
    """Create (or refresh) the core dir so that emulated boards build with no network. Cheap when already done."""
    core = Path(core_dir) if core_dir is not None else default_core_dir()
    bin_dir = find_toolchain()
    stamp = core / _STAMP
    wanted = {"layout": _CORE_LAYOUT, "scons": _scons_requirement(), "toolchain": str(bin_dir),
              "python": sys.executable}
    current = _read_stamp(stamp)
    if current != wanted or not (core / "packages" / "tool-scons" / "scons.py").is_file():
        from mcukit.locks import path_lock

        with path_lock(core):  # two mcukit processes starting on an empty cache must not both write the shims
            if _read_stamp(stamp) != wanted or not (core / "packages" / "tool-scons" / "scons.py").is_file():
                packages = core / "packages"
                packages.mkdir(parents=True, exist_ok=True)
                _install_scons_shim(packages)
                _install_toolchain_shim(packages, bin_dir)
                _write_json(stamp, wanted)
    return PioCore(core, pio_environment(core))


def _read_stamp(stamp: Path) -> dict | None:
    try:
        return json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------------------------------------- local platforms


def _link_spec(link: Path) -> dict | None:
    try:
        return json.loads(link.read_text(encoding="utf-8")).get("spec")
    except (OSError, ValueError, AttributeError):
        return None


def link_local_platform(board: Board, core: PioCore) -> Path | None:
    """Install the board's local platform (a folder under boards/) into the core before any `pio run` needs it;
    returns the link file (None for registry platforms).

    PlatformIO "installs" a symlink:// platform by writing `platforms/<name>.pio-link` in place (truncate, then
    write) whenever a `pio run` does not find it, and the SCons half of every `pio run` reads that file again, with
    no lock. Written here once, under the core's lock and in one step, it is already there when `pio` looks, so
    concurrent builds only read it. Each platform folder has its own link name (see `platform_spec`), so two
    checkouts sharing a core never rewrite each other's link."""
    pio = board.platformio
    if not pio.is_local:
        return None
    from platformio.package.meta import PackageSpec

    spec = PackageSpec(pio.platform_spec)  # PlatformIO's own parse: the same name and fields `pio` looks for
    wanted = spec.as_dict()
    link = core.platforms_dir / f"{spec.name}.pio-link"
    if _link_spec(link) != wanted:
        from mcukit.locks import path_lock

        with path_lock(core.core_dir):
            if _link_spec(link) != wanted:
                core.platforms_dir.mkdir(parents=True, exist_ok=True)
                _write_json(link, {"cwd": spec.uri[len("symlink://"):], "spec": wanted})
    return link


# ------------------------------------------------------------------------------------------- registry platforms


def registry_reachable(timeout: float = 2.0) -> bool:
    """True if the PlatformIO registry's host name resolves. Offline, the lookup fails in milliseconds; a thread
    bounds it when a resolver hangs. The host names come from PlatformIO itself."""
    from platformio import __registry_mirror_hosts__ as hosts

    result: list[bool] = []

    def lookup() -> None:
        for host in hosts:
            try:
                socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)
            except OSError:
                continue
            result.append(True)
            return

    worker = threading.Thread(target=lookup, daemon=True)
    worker.start()
    worker.join(timeout)
    return bool(result)


def _installed_platform_dir(core: PioCore, name: str) -> Path | None:
    for candidate in (core.platforms_dir / name, *sorted(core.platforms_dir.glob(f"{name}@*"))):
        if (candidate / "platform.json").is_file():
            return candidate
    return None


def missing_packages(core: PioCore, board: Board) -> list[str]:
    """For an installed registry platform: required packages (non-optional ones and the board's framework) that
    are not in the core dir. Only a best effort: the platform's own Python may enable more at build time."""
    pdir = _installed_platform_dir(core, board.platformio.platform_name)
    if pdir is None:
        return [board.platformio.platform_name]
    manifest = json.loads((pdir / "platform.json").read_text(encoding="utf-8"))
    needed = [name for name, opts in manifest.get("packages", {}).items() if not opts.get("optional")]
    framework = board.platformio.framework
    if framework:
        package = manifest.get("frameworks", {}).get(framework, {}).get("package")
        if package:
            needed.append(package)
    installed = {p.name.split("@")[0] for p in core.packages_dir.iterdir()} if core.packages_dir.is_dir() else set()
    return [name for name in needed if name not in installed]


def ensure_platform_available(board: Board, core: PioCore) -> None:
    """Raise BoardError at once when building for `board` would need the PlatformIO registry and it is not
    reachable. Local platforms are always available: they are linked into the core here."""
    pio = board.platformio
    if pio.is_local:
        link_local_platform(board, core)
        return
    is_url = "://" in pio.platform
    missing = [pio.platform] if is_url else missing_packages(core, board)
    if not missing or registry_reachable():
        return
    if is_url:
        what = f"the {pio.platform} platform must be downloaded"
    elif missing == [pio.platform_name]:
        what = f"the {pio.platform_name} platform is not installed"
    else:
        what = f"the {pio.platform_name} platform's packages {', '.join(missing)} are not installed"
    raise BoardError(
        f"{what} and the PlatformIO registry is unreachable (board {board.name!r})",
        f"connect to the internet once and run `PLATFORMIO_CORE_DIR={core.core_dir} "
        f"{sys.executable} -m platformio pkg install -g -p {pio.platform}`",
    )


# ------------------------------------------------------------------------------------------------ running pio


def run_pio(args: list[str], core: PioCore, *, cwd: Path | None = None,
            timeout: float | None = 900.0) -> subprocess.CompletedProcess[str]:
    """Run the PlatformIO CLI of this Python (`python -m platformio ARGS`), output captured (stderr merged)."""
    cmd = [sys.executable, "-m", "platformio", *args]
    try:
        return subprocess.run(cmd, cwd=cwd, env=core.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, errors="replace", timeout=timeout, check=False)
    except subprocess.TimeoutExpired as err:
        from mcukit.errors import CompileError

        raise CompileError(f"`pio {' '.join(args)}` did not finish within {timeout:.0f} s",
                           "run it by hand with the same PLATFORMIO_CORE_DIR to see where it waits") from err
