"""The stored op sweep on emulated boards: many single-op models linked into one firmware, run in QEMU, compared
with the reference interpreter bit for bit. Used by tests/target/test_dsp_qemu.py and test_dsp_sweep_qemu_*.py.

- `sweep_models(isa)`: every stored model (tests/data/ops/*/*.tflite, dsp_special included when present) whose
  lowering for that ISA calls at least one optimized kernel (*_dsp or *_mve).
- `build_sweep(...)`: generates each model with the board's ISA and rounding, gives its global symbols a per-model
  prefix (mk_model_* -> mk_m<k>_model_*, weight arrays likewise) and puts its model.c + model_weights.c + seeded
  random inputs (all samples) into ONE translation unit with a `mk_m<k>_sweep()` that runs every sample and prints
  each output as a hex line ("M<k> <sample> <output> <hex>"). main.c calls them in order, optionally runs the
  differential self-check (tests/host/dsp_selfcheck.c) and prints "DONE <fails>".
  The ELF is cached by content (generated sources, flags, board, the whole firmware tree it builds from, the
  compiler version): `cache_dir()/dsp-sweep/elf/<key>.elf`, so a second run does not call PlatformIO. The project
  folder is also kept (`cache_dir()/dsp-sweep/projects/...`) so a kernel edit rebuilds only what changed.
- `check_outputs(...)`: parses the UART transcript and compares every (model, sample, output) with the reference
  of the rounding mode (`mcukit.reference.run_reference`, oracle "tflm" = double rounding, "litert" = single).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import zlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from mcukit.boards import Board
from mcukit.build import PioCore, build_project, env_ini
from mcukit.codegen.generate import GeneratedModel, generate, lower_all
from mcukit.codegen.kernel_call import LowerOptions
from mcukit.ir.graph import Graph
from mcukit.ir.reader import parse_tflite
from mcukit.locks import path_lock
from mcukit.paths import cache_dir, data_dir
from mcukit.reference import run_reference

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "ops"
SELFCHECK_C = ROOT / "tests" / "host" / "dsp_selfcheck.c"
ROUNDINGS = {"tflm": 0, "litert": 1}  # rounding -> MK_SINGLE_ROUNDING
FORMAT = "dsp-sweep-3"  # bump when the generated firmware layout changes (part of the cache key)
OPTIMIZED = ("_dsp", "_mve")
SAMPLES = 8  # random samples per model in the full sweep
SELFCHECK = (0x5EED, 150)  # (seed, trials per family) of the self-check the full sweep firmware also runs


@cache
def selfcheck_kernels() -> tuple[str, ...]:
    """The self-check's counters in order, from its `enum { SC_CONV_DSP, ..., SC_KERNELS }` (SC_CONV_DSP ->
    "conv_dsp"), so variants added to tests/host/dsp_selfcheck.c are reported without editing this file."""
    match = re.search(r"enum\s*\{([^}]*)\bSC_KERNELS\b", SELFCHECK_C.read_text())
    assert match, f"no SC_... enum ending in SC_KERNELS in {SELFCHECK_C}"
    return tuple(n[3:].lower() for n in re.findall(r"\bSC_\w+", match.group(1)))


@dataclass(frozen=True)
class SweepModel:
    family: str
    file: str
    data: bytes = field(repr=False)
    kernels: tuple[str, ...]  # the optimized kernels its lowering picks
    kinds: tuple[str, ...]  # the op kinds that run an optimized kernel

    @property
    def name(self) -> str:
        return f"{self.family}/{self.file}"


@dataclass(frozen=True)
class SweepBuild:
    board: Board
    rounding: str
    elf: Path
    models: tuple[SweepModel, ...]
    inputs: tuple[tuple[np.ndarray, ...], ...] = field(repr=False)  # per model: one (samples, *shape) per input
    samples: int
    cached: bool
    build_seconds: float
    flash_bytes: int
    ram_bytes: int


def _families() -> list[Path]:
    return sorted(p for p in DATA.iterdir() if p.is_dir())


def _manifest_sha(family: Path) -> dict[str, str]:
    manifest = family / "manifest.json"
    if not manifest.is_file():
        return {}
    cases = json.loads(manifest.read_text()).get("cases", [])
    return {c["file"]: c["sha256"] for c in cases if "file" in c and "sha256" in c}


@cache
def sweep_models(isa: tuple[str, ...]) -> tuple[SweepModel, ...]:
    """Every stored single-op model whose lowering for `isa` calls an optimized kernel (sorted by family, file)."""
    out = []
    for fam in _families():
        shas = _manifest_sha(fam)
        for path in sorted(fam.glob("*.tflite")):
            data = path.read_bytes()
            if path.name in shas:
                assert hashlib.sha256(data).hexdigest() == shas[path.name], f"{path} does not match its manifest"
            graph = parse_tflite(data)
            fast = [(op.kind, c.kernel) for op, c in zip(graph.ops, lower_all(graph, LowerOptions(isa=isa)))
                    if c.kernel.endswith(OPTIMIZED)]
            if fast:
                out.append(SweepModel(fam.name, path.name, data, tuple(sorted({k for _, k in fast})),
                                      tuple(sorted({kind for kind, _ in fast}))))
    return tuple(out)


def sweep_inputs(model: SweepModel, samples: int) -> tuple[np.ndarray, ...]:
    """Seeded random inputs, shape (samples, *input_shape): int inputs uniform over the dtype's range; float inputs
    (QUANTIZE in front) uniform over the quantized range and 10 % beyond it, every other sample an exact half-step
    tie (the rounding edge)."""
    graph = parse_tflite(model.data)
    rng = np.random.default_rng(zlib.crc32(model.name.encode()))
    out = []
    for t in graph.input_tensors:
        dt = np.dtype(t.dtype)
        if dt.kind in "iu":
            info = np.iinfo(dt)
            out.append(rng.integers(info.min, int(info.max) + 1, size=(samples, *t.shape), dtype=dt))
            continue
        scale, zp = _consumer_quant(graph, t.index)
        lo, hi = (-128 - zp) * scale, (127 - zp) * scale
        span = hi - lo
        x = rng.uniform(lo - 0.1 * span, hi + 0.1 * span, size=(samples, *t.shape))
        ties = ((rng.integers(-128, 128, size=(samples, *t.shape)) - zp) + 0.5) * scale
        x[1::2] = ties[1::2]
        out.append(x.astype(dt))
    return tuple(out)


def _consumer_quant(graph: Graph, tensor: int) -> tuple[float, int]:
    for op in graph.ops:
        if tensor in op.inputs and op.outputs:
            q = graph.tensors[op.outputs[0]].quant
            if q is not None and len(q.scale):
                return float(q.scale[0]), int(q.zero_point[0])
    return 1.0 / 16, 0


# ---------------------------------------------------------------------------------------------- C generation

_MAIN_HEAD = r"""/* Generated by tests/target/dsp_sweep.py: run every model on its stored inputs, print outputs as hex. */
#include <stdint.h>
#include <string.h>
#include "mcukit/mk_hal.h"
int32_t mk_dsp_selfcheck(uint32_t seed, int32_t trials);
extern int32_t mk_sc_runs[], mk_sc_fails[];
static void put(const char *s) { mk_hal_write((const uint8_t *)s, strlen(s)); }
static void put_int(int32_t v) {
    char b[12];
    int i = 11;
    uint32_t u = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
    b[i] = 0;
    do { b[--i] = (char)('0' + u % 10u); u /= 10u; } while (u);
    if (v < 0) b[--i] = '-';
    put(b + i);
}
/* One output line: "M<k> <sample> <output> <hex bytes>". */
void mk_sweep_line(int32_t k, int32_t s, int32_t j, const void *data, size_t n) {
    static const char d[] = "0123456789abcdef";
    static char buf[256];
    const uint8_t *p = (const uint8_t *)data;
    put("M"); put_int(k); put(" "); put_int(s); put(" "); put_int(j); put(" ");
    size_t used = 0;
    for (size_t i = 0; i < n; ++i) {
        buf[used++] = d[p[i] >> 4];
        buf[used++] = d[p[i] & 15];
        if (used == sizeof buf) { mk_hal_write((const uint8_t *)buf, used); used = 0; }
    }
    buf[used++] = '\n';
    mk_hal_write((const uint8_t *)buf, used);
}
"""


def rename(text: str, k: int) -> str:
    """Give one generated model's external symbols a per-model prefix so several models link into one program."""
    text = re.sub(r"\bmk_model_", f"mk_m{k}_model_", text)
    return re.sub(r"\bmk_(w|l)(\d+)_", rf"mk_m{k}_\1\2_", text)


def _c_bytes(values: np.ndarray) -> str:
    flat = np.ascontiguousarray(values).view(np.uint8).ravel()
    rows = [", ".join(str(int(v)) for v in flat[i:i + 32]) for i in range(0, flat.size, 32)]
    return ",\n    ".join(rows)


def _model_tu(k: int, gen: GeneratedModel, xs: tuple[np.ndarray, ...], samples: int) -> str:
    """model.c + model_weights.c + inputs + the per-model sweep function, as one translation unit."""
    body = gen.files["model.c"].replace('#include "model.h"', f'#include "m{k}.h"')
    parts = [rename(body, k), rename(gen.files["model_weights.c"], k),
             "void mk_sweep_line(int32_t k, int32_t s, int32_t j, const void *data, size_t n);"]
    for i, x in enumerate(xs):
        parts.append(f"static const uint8_t mk_m{k}_in{i}[{x.nbytes}] MK_ALIGNED(4) = {{\n    {_c_bytes(x)}\n}};")
    lines = [f"int mk_m{k}_sweep(void);", f"int mk_m{k}_sweep(void)", "{",
             f"    for (int32_t s = 0; s < {samples}; ++s) {{"]
    for i, x in enumerate(xs):
        nb = x.nbytes // samples
        lines.append(f"        memcpy(mk_m{k}_model_input({i}), mk_m{k}_in{i} + (size_t)s * {nb}u, {nb}u);")
    lines.append(f"        if (mk_m{k}_model_invoke() != 0) return 1;")
    for j, io in enumerate(gen.outputs):
        lines.append(f"        mk_sweep_line({k}, s, {j}, mk_m{k}_model_output({j}), {io.nbytes}u);")
    lines += ["    }", "    return 0;", "}"]
    parts.append("\n".join(lines))
    return "#include <string.h>\n" + "\n\n".join(parts) + "\n"


def _main_c(n_models: int, selfcheck: tuple[int, int] | None) -> str:
    lines = [_MAIN_HEAD]
    lines += [f"int mk_m{k}_sweep(void);" for k in range(n_models)]
    lines.append("typedef int (*mk_sweep_fn)(void);")
    table = ", ".join(f"mk_m{k}_sweep" for k in range(n_models))
    lines.append(f"static mk_sweep_fn const mk_sweeps[{n_models}] = {{{table}}};")
    lines += ["int mk_main(void) {", "    mk_hal_init();", f"    for (int32_t k = 0; k < {n_models}; ++k) {{",
              "        if (mk_sweeps[k]() != 0) { put(\"INVOKE FAILED \"); put_int(k); put(\"\\n\"); return 3; }",
              "    }"]
    if selfcheck is None:
        lines.append('    put("DONE 0\\n");')
    else:
        seed, trials = selfcheck
        lines.append(f"    int32_t fails = mk_dsp_selfcheck({seed}u, {trials});")
        lines.append('    put("SC");')
        lines.append(f"    for (int k = 0; k < {len(selfcheck_kernels())}; ++k) {{ put(\" \"); put_int(mk_sc_runs[k]);"
                     " put(\"/\"); put_int(mk_sc_fails[k]); }")
        lines.append('    put("\\n"); put("DONE "); put_int(fails); put("\\n");')
    lines += ["    return 0;", "}"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- cache key + build


def _tree_digest(root: Path, subdirs: tuple[str, ...]) -> str:
    h = hashlib.sha256()
    for sub in subdirs:
        for p in sorted((root / sub).rglob("*")):
            if p.is_file():
                h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


@cache
def _tool_version(tool: str) -> str:
    out = subprocess.run([tool, "--version"], capture_output=True, text=True, check=False).stdout
    return out.splitlines()[0] if out else tool


def _write_if_changed(path: Path, text: str) -> None:
    """Leaves unchanged files alone so the kept PlatformIO project rebuilds only what changed."""
    if path.is_file() and path.read_text() == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _prune(folder: Path, prefix: str, keep: int) -> None:
    """Keep the newest `keep` cached ELFs of one (tag, board, rounding): kernels under edit make a new one each
    time."""
    elfs = sorted(folder.glob(f"{prefix}*.elf"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in elfs[keep:]:
        old.unlink(missing_ok=True)
        old.with_suffix(".json").unlink(missing_ok=True)


def build_sweep(board: Board, rounding: str, core: PioCore, *, models: tuple[SweepModel, ...] | None = None,
                samples: int = SAMPLES, selfcheck: tuple[int, int] | None = SELFCHECK, firmware: Path | None = None,
                tag: str = "full") -> SweepBuild:
    """Build (or fetch from the cache) one firmware that runs `models` (default: the whole sweep for the board's
    ISA) on `samples` seeded random inputs each. `firmware`: the firmware tree to build from (default: mcukit's
    own; a modified copy for mutation tests). `tag` names the kept project folder. The defaults are the full sweep,
so equal arguments give the same cache key (the mutation test reuses the full sweep's ELF as its control)."""
    isa = tuple(board.isa.features)
    models = sweep_models(isa) if models is None else models
    fw_tree = (firmware or data_dir("firmware")).resolve()
    files: dict[str, str] = {}
    inputs = []
    for k, m in enumerate(models):
        gen = generate(parse_tflite(m.data), LowerOptions(rounding=rounding, isa=isa))
        xs = sweep_inputs(m, samples)
        inputs.append(xs)
        files[f"src/m{k}.h"] = rename(gen.files["model.h"], k)
        files[f"src/m{k}.c"] = _model_tu(k, gen, xs, samples)
    files["src/main.c"] = _main_c(len(models), selfcheck)
    if selfcheck is not None:
        files["src/dsp_selfcheck.c"] = SELFCHECK_C.read_text()
    flags = ["-Werror", f"-DMK_SINGLE_ROUNDING={ROUNDINGS[rounding]}"]
    ini = env_ini(board, build_flags=flags, mcukit_src=["kernels"])
    ini = ini.replace(str(data_dir("firmware").resolve()), str(fw_tree))

    h = hashlib.sha256()
    platform_dir = data_dir("boards") / "platform-mcukit-qemu"
    for part in (FORMAT, board.name, rounding, json.dumps(flags), ini.replace(str(fw_tree), "<fw>"),
                 _tree_digest(fw_tree, ("include", "src/kernels", "src/hal/qemu_mps2")),
                 _tree_digest(platform_dir, ("builder", "boards")), _tool_version("arm-none-eabi-gcc")):
        h.update(part.encode() + b"\0")
    for name in sorted(files):
        h.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    key = h.hexdigest()[:24]
    root = cache_dir() / "dsp-sweep"
    elf = root / "elf" / f"{tag}-{board.name}-{rounding}-{key}.elf"
    meta = elf.with_suffix(".json")

    def made(cached: bool, seconds: float, flash: int, ram: int) -> SweepBuild:
        return SweepBuild(board, rounding, elf, models, tuple(inputs), samples, cached, seconds, flash, ram)

    if elf.is_file() and meta.is_file():
        info = json.loads(meta.read_text())
        return made(True, 0.0, info["flash_bytes"], info["ram_bytes"])

    project = root / "projects" / f"{tag}-{board.name}-{rounding}"
    with path_lock(project):
        src = project / "src"
        if src.is_dir():  # drop models a previous sweep had and this one has not
            for old in src.iterdir():
                if f"src/{old.name}" not in files:
                    old.unlink()
        for name, text in files.items():
            _write_if_changed(project / name, text)
        _write_if_changed(project / "platformio.ini", ini)
        fw = build_project(project, board=board, core=core)
        elf.parent.mkdir(parents=True, exist_ok=True)
        tmp = elf.with_name(elf.name + f".{os.getpid()}.tmp")
        shutil.copy2(fw.elf, tmp)
        os.replace(tmp, elf)
        meta.write_text(json.dumps({"flash_bytes": fw.sizes.flash_bytes, "ram_bytes": fw.sizes.ram_bytes,
                                    "models": [m.name for m in models], "samples": samples}))
        _prune(elf.parent, f"{tag}-{board.name}-{rounding}-", keep=3)
    return made(False, fw.build_seconds, fw.sizes.flash_bytes, fw.sizes.ram_bytes)


# ---------------------------------------------------------------------------------------------- checking


@dataclass(frozen=True)
class Transcript:
    outputs: dict[tuple[int, int, int], bytes]
    selfcheck: str
    done: str


def parse_uart(uart: str) -> Transcript:
    outs: dict[tuple[int, int, int], bytes] = {}
    sc = done = ""
    for line in uart.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0].startswith("M"):
            outs[(int(parts[0][1:]), int(parts[1]), int(parts[2]))] = bytes.fromhex(parts[3])
        elif len(parts) == 3 and parts[0].startswith("M"):  # an empty output tensor
            outs[(int(parts[0][1:]), int(parts[1]), int(parts[2]))] = b""
        elif parts and parts[0] == "SC":
            sc = line
        elif parts and parts[0] == "DONE":
            done = line
    return Transcript(outs, sc, done)


def check_outputs(build: SweepBuild, transcript: Transcript) -> list[str]:
    """One line per (model, sample, output) that is missing or differs from the reference in any byte."""
    failures = []
    for k, (m, xs) in enumerate(zip(build.models, build.inputs)):
        expected = run_reference(m.data, list(xs), oracle=build.rounding)
        for s in range(build.samples):
            for j, e in enumerate(expected):
                want = np.ascontiguousarray(e[s]).tobytes()
                got = transcript.outputs.get((k, s, j))
                if got == want:
                    continue
                if got is None:
                    failures.append(f"{m.name} sample {s} output {j}: no output line")
                    continue
                a = np.frombuffer(got, dtype=e.dtype) if len(got) == len(want) else None
                b = np.ascontiguousarray(e[s]).ravel()
                if a is None:
                    failures.append(f"{m.name} sample {s} output {j}: {len(got)} bytes, expected {len(want)}")
                    continue
                bad = np.flatnonzero(a != b)
                failures.append(f"{m.name} sample {s} output {j}: {bad.size}/{b.size} values differ "
                                f"(first at {int(bad[0])}: got {a[bad[0]]}, expected {b[bad[0]]}; "
                                f"kernels {', '.join(m.kernels)})")
    return failures


def selfcheck_counts(transcript: Transcript) -> dict[str, tuple[int, int]]:
    """Self-check line "SC runs/fails ..." -> {variant: (trials run, trials that differed from portable)}."""
    counts = {}
    for name, item in zip(selfcheck_kernels(), transcript.selfcheck.split()[1:]):
        runs, fails = (int(v) for v in item.split("/"))
        counts[name] = (runs, fails)
    return counts
