"""Fixtures for emulated-board tests: an offline PlatformIO core and small test firmwares built once per session.

The firmwares are generated into a temporary PlatformIO project whose environments point at the local mcukit-qemu
platform (exactly what `mcukit.build.env_ini` writes for a board). PlatformIO runs with an HTTP(S) proxy that
refuses connections, so any attempt to reach the network fails the build instead of passing unnoticed.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from mcukit.boards import get_board
from mcukit.build import Firmware, PioCore, build_project, env_ini, prepare_core

EMULATED = ("qemu-m3", "qemu-m4", "qemu-m7", "qemu-m55")
# extra builds on the default board: (env name, test mode)
EXTRA = (("qemu-m4-fault", 1), ("qemu-m4-hang", 2), ("qemu-m4-counter", 3))

MAIN_C = r"""
/* Test firmware for tests/target. MK_TEST_MODE: 0 hello/echo/counter, 1 HardFault, 2 hang, 3 counter over time. */
#include <string.h>

#include "mcukit/mk_hal.h"

#ifndef MK_TEST_MODE
#define MK_TEST_MODE 0
#endif

static void put(const char *s) { mk_hal_write((const uint8_t *)s, strlen(s)); }

__attribute__((unused)) static void put_u32(uint32_t v) {
    uint8_t b[4];
    memcpy(b, &v, sizeof b); /* little-endian on every Cortex-M here */
    mk_hal_write(b, sizeof b);
}

__attribute__((noinline)) void mk_test_fault(void) {
    __asm volatile("udf #0"); /* permanently undefined: UsageFault, escalated to HardFault */
}

int mk_main(void) {
    mk_hal_init();
    put("hello ");
    put(mk_hal_board_name());
    put("\n");
#if MK_TEST_MODE == 1
    mk_test_fault();
    return 0;
#elif MK_TEST_MODE == 2
    for (;;) {
    }
#elif MK_TEST_MODE == 3
    /* Read the counter for 1.5 s of emulated time (two SysTick wraps at 25 MHz): it must never go backwards. */
    uint32_t first = mk_hal_counter(), prev = first, backwards = 0;
    uint32_t start_ms = mk_hal_millis();
    while (mk_hal_millis() - start_ms < 1500u) {
        uint32_t now = mk_hal_counter();
        if ((int32_t)(now - prev) < 0) {
            backwards++;
        }
        prev = now;
    }
    put_u32(backwards);
    put_u32(prev - first);
    put_u32(mk_hal_counter_hz());
    return 0;
#else
    uint8_t buf[4];
    size_t got = 0;
    while (got < sizeof buf) {
        size_t n = mk_hal_read(buf + got, sizeof buf - got, 5000);
        if (n == 0) {
            put("timeout\n");
            return 3;
        }
        got += n;
    }
    mk_hal_write(buf, sizeof buf);
    uint32_t a = mk_hal_counter();
    volatile uint32_t sink = 0;
    for (uint32_t i = 0; i < 100000u; ++i) {
        sink += i;
    }
    uint32_t b = mk_hal_counter();
    put_u32(a);
    put_u32(b);
    return 0;
#endif
}
"""


@pytest.fixture(scope="session")
def arm_tools() -> None:
    missing = [tool for tool in ("arm-none-eabi-gcc", "qemu-system-arm") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (see scripts/install.sh)")


@pytest.fixture(scope="session")
def pio_core(tmp_path_factory: pytest.TempPathFactory, arm_tools: None) -> PioCore:
    core = prepare_core(tmp_path_factory.mktemp("pio-core"))
    offline = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
               "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "NO_PROXY": ""}
    return replace(core, env={**core.env, **offline})


@pytest.fixture(scope="session")
def test_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("target-fw")
    (project / "src").mkdir()
    (project / "src" / "main.c").write_text(MAIN_C, encoding="utf-8")
    sections = [env_ini(get_board(name), build_flags=["-Werror"]) for name in EMULATED]
    for env_name, mode in EXTRA:
        sections.append(env_ini(get_board("qemu-m4"), env_name=env_name,
                                build_flags=["-Werror", f"-DMK_TEST_MODE={mode}"]))
    (project / "platformio.ini").write_text("\n".join(sections), encoding="utf-8")
    return project


@pytest.fixture(scope="session")
def firmwares(test_project: Path, pio_core: PioCore) -> dict[str, Firmware]:
    """env name -> built Firmware (one `pio run` per environment)."""
    built = {}
    for name in EMULATED:
        built[name] = build_project(test_project, board=get_board(name), core=pio_core)
    for env_name, _ in EXTRA:
        built[env_name] = build_project(test_project, env_name, board=get_board("qemu-m4"), core=pio_core)
    return built
