"""Build firmware with PlatformIO (offline for emulated boards), parse sizes, map failures to clear errors."""

from mcukit.build.pio import PioCore, default_core_dir, ensure_platform_available, prepare_core, registry_reachable
from mcukit.build.project import env_ini
from mcukit.build.runner import Firmware, build_project, first_error_line
from mcukit.build.sizes import Sizes, elf_sizes

__all__ = [
    "Firmware",
    "PioCore",
    "Sizes",
    "build_project",
    "default_core_dir",
    "elf_sizes",
    "ensure_platform_available",
    "env_ini",
    "first_error_line",
    "prepare_core",
    "registry_reachable",
]
