# mcukit-qemu: PlatformIO build script for Cortex-M boards emulated by qemu-system-arm.
#
# Builds bare-metal firmware with the arm-none-eabi toolchain (the optional `toolchain-gccarmnoneeabi-system`
# package if mcukit installed it into the core dir, else whatever is on PATH), adds mcukit's QEMU HAL
# (firmware/src/hal/qemu_mps2: start-up, linker script, UART, SysTick, semihosting) and defines an `upload` target
# that runs the ELF in QEMU; the firmware's semihosting exit status is the upload result.
#
# Project options read here (all optional):
#   custom_mcukit_firmware = path/to/firmware        mcukit's firmware/ tree, absolute or relative to the project
#                                                    (default: next to boards/)
#   custom_mcukit_src      = runtime kernels         more firmware/src sub-folders to compile into the program
#   custom_qemu_timeout    = 60                      seconds before `upload` kills QEMU (0 = no limit)
#   upload_port            = tcp:127.0.0.1:PORT      UART on a TCP server (QEMU waits for a client) instead of stdio
#   upload_flags           = -icount shift=0         extra qemu-system-arm arguments
import shlex
import subprocess
import sys
from os.path import isabs, isdir, join, normpath, realpath

from SCons.Script import AlwaysBuild, Default, DefaultEnvironment  # type: ignore[import-not-found]

env = DefaultEnvironment()
platform = env.PioPlatform()
board = env.BoardConfig()

# ---- toolchain ---------------------------------------------------------------------------------------------------
toolchain_dir = platform.get_package_dir("toolchain-gccarmnoneeabi-system")
if toolchain_dir and isdir(join(toolchain_dir, "bin")):
    env.PrependENVPath("PATH", join(toolchain_dir, "bin"))

env.Replace(
    AR="arm-none-eabi-ar",
    AS="arm-none-eabi-as",
    CC="arm-none-eabi-gcc",
    CXX="arm-none-eabi-g++",
    GDB="arm-none-eabi-gdb",
    OBJCOPY="arm-none-eabi-objcopy",
    RANLIB="arm-none-eabi-ranlib",
    SIZETOOL="arm-none-eabi-size",
    ARFLAGS=["rc"],
    SIZEPROGREGEXP=r"^(?:\.vectors|\.text|\.rodata|\.data|\.init_array|\.ARM\.exidx|\.ARM\.extab)\s+(\d+).*",
    SIZEDATAREGEXP=r"^(?:\.data|\.bss|\.stack)\s+(\d+).*",
    SIZECHECKCMD="$SIZETOOL -A -d $SOURCES",
    SIZEPRINTCMD="$SIZETOOL -B -d $SOURCES",
    PROGSUFFIX=".elf",
)
if env.get("PROGNAME", "program") == "program":
    env.Replace(PROGNAME="firmware")  # .pio/build/<env>/firmware.elf, like PlatformIO's own platforms

# ---- where mcukit's firmware tree is -----------------------------------------------------------------------------
firmware_dir = env.GetProjectOption("custom_mcukit_firmware", "")
if firmware_dir and not isabs(firmware_dir):
    # Relative to the project, so a generated project keeps working when it is moved or copied.
    firmware_dir = normpath(join(env.subst("$PROJECT_DIR"), firmware_dir))
if not firmware_dir:
    # boards/platform-mcukit-qemu -> ../../firmware, both in a checkout and inside the wheel (mcukit/_data/).
    firmware_dir = normpath(join(realpath(platform.get_dir()), "..", "..", "firmware"))
hal_dir = join(firmware_dir, "src", "hal", "qemu_mps2")
if not isdir(hal_dir):
    sys.stderr.write(
        f"Error: mcukit's QEMU HAL was not found at {hal_dir}; set custom_mcukit_firmware in platformio.ini\n"
    )
    env.Exit(1)

# ---- machine and ISA flags ---------------------------------------------------------------------------------------
mk = board.get("build.mcukit")
cpu = board.get("build.cpu")
machine_flags = [f"-mcpu={cpu}", "-mthumb"]
fpu = mk.get("fpu", "")
if fpu == "auto":
    machine_flags.append("-mfloat-abi=hard")  # the FPU/MVE that -mcpu implies (Helium on the M55)
elif fpu:
    machine_flags += [f"-mfpu={fpu}", "-mfloat-abi=hard"]
else:
    machine_flags.append("-mfloat-abi=soft")

board_name = env.GetProjectOption("custom_mcukit_board", "") or env.subst("$BOARD")

env.Append(
    ASFLAGS=machine_flags + ["-x", "assembler-with-cpp"],
    CCFLAGS=machine_flags
    + ["-O2", "-g", "-ffunction-sections", "-fdata-sections", "-fno-common", "-Wall", "-Wextra"],
    CFLAGS=["-std=c99"],
    CXXFLAGS=["-fno-exceptions", "-fno-rtti"],
    CPPDEFINES=[
        ("MK_UART_BASE", mk["uart_base"]),
        ("MK_UART_RX_IRQ", int(mk["uart_rx_irq"])),
        ("MK_COUNTER_HZ", f"{int(mk['counter_hz'])}U"),
        ("MK_BOARD_NAME", f'\\"{board_name}\\"'),
        ("MK_HAL_QEMU_MPS2", 1),
    ],
    CPPPATH=[join(firmware_dir, "include"), hal_dir],
    LINKFLAGS=machine_flags
    + [
        "-nostartfiles",
        "--specs=nano.specs",
        "--specs=nosys.specs",
        "-Wl,--gc-sections",
        f"-Wl,-Map,{join('$BUILD_DIR', 'firmware.map')}",
        f"-L{join(hal_dir, 'ld')}",
        f"-T{mk['ldscript']}",
    ],
)


# The protocol runtime and the HAL run once per frame, not once per MAC: compile them for size (-Os) and keep -O2
# for the kernels and the generated model. Only our own -O2 entry is swapped, so an -O flag the project adds in
# build_flags (which PlatformIO appends after it) still wins. The middleware also reaches the lib/mcukit library
# of a generated project: PlatformIO's library builders clone this environment, middlewares included.
def _size_optimized(env, node):
    flags = [("-Os" if f == "-O2" else f) for f in env["CCFLAGS"]]
    return env.Object(node, CCFLAGS=flags)


for _pattern in ("*/src/runtime/*.c", "*/src/hal/*.c"):
    env.AddBuildMiddleware(_size_optimized, _pattern)

# The HAL and any requested firmware folders are compiled with the program; the project's src/ is built by
# PlatformIO as usual.
env.BuildSources(join("$BUILD_DIR", "mcukit_hal"), hal_dir, src_filter="+<*.c> +<*.S>")
for sub in env.GetProjectOption("custom_mcukit_src", "").replace(",", " ").split():
    env.BuildSources(join("$BUILD_DIR", "mcukit_" + sub.replace("/", "_")), join(firmware_dir, "src", sub))

# ---- targets -----------------------------------------------------------------------------------------------------
target_elf = env.BuildProgram()
target_size = env.AddPlatformTarget(
    "size", target_elf, env.VerboseAction("$SIZEPRINTCMD", "Calculating size $SOURCE"), "Program Size"
)


def qemu_command(elf_path):
    port = env.subst("$UPLOAD_PORT")
    serial = port if port.startswith("tcp:") else "stdio"
    if serial.startswith("tcp:") and "server" not in serial:
        serial += ",server=on,wait=on,nodelay=on"
    cmd = [
        "qemu-system-arm",
        "-machine", mk["machine"],
        "-cpu", cpu,
        "-kernel", elf_path,
        "-display", "none",
        "-monitor", "none",
        "-serial", serial,
        "-semihosting-config", "enable=on,target=native",
    ]
    flags = env.GetProjectOption("upload_flags", [])
    if isinstance(flags, str):
        flags = [flags]
    for flag in flags:
        cmd += shlex.split(flag)
    return cmd


def run_in_qemu(target, source, env):
    cmd = qemu_command(str(source[0]))
    timeout = float(env.GetProjectOption("custom_qemu_timeout", "60") or 0) or None
    print(" ".join(shlex.quote(c) for c in cmd))
    sys.stdout.flush()
    try:
        status = subprocess.call(cmd, timeout=timeout)
    except FileNotFoundError:
        sys.stderr.write("Error: qemu-system-arm not found; install the Debian/Ubuntu package qemu-system-arm\n")
        return 1
    except subprocess.TimeoutExpired:
        sys.stderr.write(f"Error: the firmware did not exit within {timeout} s; QEMU was stopped\n")
        return 1
    if status != 0:
        sys.stderr.write(f"Error: the firmware exited with status {status}\n")
    return status


target_upload = env.AddPlatformTarget("upload", target_elf, env.VerboseAction(run_in_qemu, "Running $SOURCE in QEMU"),
                                      "Upload (run in QEMU)")
AlwaysBuild(target_upload)

Default([target_elf, target_size])
