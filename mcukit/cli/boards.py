"""`mcukit boards [--json]`: the boards mcukit knows, with core, clock, memory and what each was verified on."""

from __future__ import annotations

import json
from typing import Any

import click

from mcukit.boards import DEFAULT_BOARD, Board, all_boards

SCHEMA = "mcukit.boards/1"


def board_record(board: Board) -> dict[str, Any]:
    record: dict[str, Any] = {
        "name": board.name,
        "aliases": list(board.aliases),
        "description": board.description,
        "default": board.name == DEFAULT_BOARD,
        "core": board.core,
        "isa": list(board.isa.features),
        "clock_hz": board.clock_hz,
        "flash_bytes": board.flash_bytes,
        "ram_bytes": board.ram_bytes,
        "emulated": board.emulated,
        "hal": board.hal,
        "platformio": {
            "platform": board.platformio.platform,
            "board": board.platformio.board,
            "framework": board.platformio.framework,
        },
        "serial": {"baud": board.serial.baud, "usb_ids": [f"{v:04x}:{p:04x}" for v, p in board.serial.usb_ids]},
        "power": {"active_ua_per_mhz": board.power.active_ua_per_mhz, "supply_v": board.power.supply_v,
                  "source": board.power.source},
        "verified": board.verified,
    }
    if board.emulator is not None:
        record["emulator"] = {"machine": board.emulator.machine, "cpu": board.emulator.cpu,
                              "counter_hz": board.emulator.counter_hz}
    return record


def _size(n: int) -> str:
    return f"{n // (1 << 20)} MB" if n % (1 << 20) == 0 else f"{n // 1024} KB"


@click.command("boards")
@click.option("--json", "as_json", is_flag=True, help=f"Print stable JSON (schema {SCHEMA}).")
def boards(as_json: bool) -> None:
    """List the supported boards: core, ISA extensions, clock, flash/RAM and what each was verified on.

    Emulated (qemu-*) boards build offline and run in QEMU; real boards need their PlatformIO platform."""
    table = all_boards()
    if as_json:
        payload = {"schema": SCHEMA, "default": DEFAULT_BOARD, "boards": [board_record(b) for b in table.values()]}
        click.echo(json.dumps(payload, indent=2))
        return
    rows = [("board", "core", "isa", "clock", "flash", "RAM", "verified")]
    for b in table.values():
        name = f"{b.name}*" if b.name == DEFAULT_BOARD else b.name
        rows.append((name, b.core.removeprefix("cortex-").upper(), ",".join(b.isa.features) or "-",
                     f"{b.clock_hz / 1e6:g} MHz", _size(b.flash_bytes), _size(b.ram_bytes), b.verified))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1])
    click.echo(f"* default board ({DEFAULT_BOARD}). Details: mcukit boards --json")
