"""Flash and RAM use of a firmware ELF, read from its section headers (pyelftools, which PlatformIO depends on).

Flash holds every allocated section that is not writable, plus the initial values of writable PROGBITS sections
(.data is copied from flash at reset). RAM holds every allocated writable section: .data, .bss and the reserved
stack. This is what `arm-none-eabi-size -B` reports as text+data and data+bss, but without needing the tool.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mcukit.errors import CompileError

_SHF_WRITE = 0x1
_SHF_ALLOC = 0x2


@dataclass(frozen=True)
class Sizes:
    flash_bytes: int
    ram_bytes: int
    sections: tuple[tuple[str, int], ...]  # allocated sections in address order: (name, size)

    def section(self, name: str) -> int:
        return sum(size for sec, size in self.sections if sec == name)


def elf_sizes(elf: Path) -> Sizes:
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    flash = ram = 0
    sections: list[tuple[int, str, int]] = []
    try:
        with open(elf, "rb") as fh:
            for sec in ELFFile(fh).iter_sections():
                flags = sec["sh_flags"]
                size = sec["sh_size"]
                if not flags & _SHF_ALLOC or size == 0:
                    continue
                sections.append((sec["sh_addr"], sec.name, size))
                if flags & _SHF_WRITE:
                    ram += size
                    if sec["sh_type"] != "SHT_NOBITS":
                        flash += size
                else:
                    flash += size
    except (OSError, ELFError) as err:
        raise CompileError(f"cannot read the firmware ELF {elf}: {err}", "rebuild the project") from err
    sections.sort()
    return Sizes(flash, ram, tuple((name, size) for _, name, size in sections))
