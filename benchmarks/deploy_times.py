"""Cold versus warm `mcukit deploy`: wall time and the stage times the results JSON records.

    .venv/bin/python benchmarks/deploy_times.py [--model examples/kws.h5] [--board qemu-m4] [--warm-runs 2]

Runs `python -m mcukit deploy MODEL --board BOARD --test-data MODEL_test.npz --json ...` as a user would:
first "cold", with an empty MCUKIT_CACHE_DIR (so it includes TensorFlow's int8 conversion, PlatformIO's core set-up
and the firmware build), then `--warm-runs` times "warm" with the same cache (converted model and firmware
cached: no TensorFlow, no PlatformIO). Columns: wall seconds of the whole command, then the JSON's stages
(model_s: load or quantize, build_s: compile + project + build or cache hit, run_s: every test sample on the
board incl. QEMU start-up and the serial link), "other" = wall minus the stages (Python start-up and imports, the
reference interpreter, the comparison, writing results), and the bit-exact verdict. Ratios are cold/warm.
PlatformIO runs offline (proxies pointing at a closed port); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLOSED = "http://127.0.0.1:9"
STAGES = ("model_s", "build_s", "run_s")


def deploy_once(model: str, board: str, test_data: str, cache: Path, out: Path) -> dict:
    env = {**os.environ, "MCUKIT_CACHE_DIR": str(cache), "HTTP_PROXY": CLOSED, "HTTPS_PROXY": CLOSED,
           "http_proxy": CLOSED, "https_proxy": CLOSED, "PLATFORMIO_DISABLE_UPGRADE_CHECK": "true",
           "PLATFORMIO_SETTING_ENABLE_TELEMETRY": "no"}
    env.pop("MCUKIT_PIO_CORE_DIR", None)
    cmd = [sys.executable, "-m", "mcukit", "deploy", model, "--board", board, "--test-data", test_data,
           "--json", str(out), "--quiet"]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"deploy failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    data = json.loads(out.read_text())
    stages = data["stages"]
    row = {"wall": wall, **{s: float(stages.get(s, 0.0)) for s in STAGES}}
    row["other"] = wall - sum(row[s] for s in STAGES)
    row["bit_exact"] = data["validation"]["bit_exact"]
    row["samples"] = data["validation"]["samples"]
    row["cached"] = data["build"]["cached"]
    row["latency"] = data.get("latency", {})
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="examples/kws.h5")
    parser.add_argument("--test-data", default=None, help="default: MODEL's stem + _test.npz")
    parser.add_argument("--board", default="qemu-m4")
    parser.add_argument("--warm-runs", type=int, default=2)
    args = parser.parse_args()
    test_data = args.test_data or str(Path(args.model).with_name(Path(args.model).stem + "_test.npz"))

    with tempfile.TemporaryDirectory(prefix="mcukit-bench-") as tmp:
        cache = Path(tmp) / "cache"
        rows = [("cold", deploy_once(args.model, args.board, test_data, cache, Path(tmp) / "cold.json"))]
        for k in range(args.warm_runs):
            rows.append((f"warm {k + 1}", deploy_once(args.model, args.board, test_data, cache,
                                                      Path(tmp) / f"warm{k}.json")))

    cols = ("wall", *STAGES, "other")
    print(f"mcukit deploy {args.model} --board {args.board} --test-data {test_data}  "
          f"({rows[0][1]['samples']} samples, {os.cpu_count()} CPUs)")
    print(f"{'':8}" + "".join(f"{c:>10}" for c in cols) + f"{'cached':>9}{'bit-exact':>11}")
    for name, row in rows:
        print(f"{name:8}" + "".join(f"{row[c]:>9.2f}s" for c in cols)
              + f"{row['cached']!s:>9}{row['bit_exact']!s:>11}")
    warm = rows[1:]
    if warm:
        best = min(warm, key=lambda r: r[1]["wall"])[1]
        ratio = rows[0][1]["wall"] / best["wall"]
        print(f"{'cold/warm':8}" + "".join(
            f"{rows[0][1][c] / best[c]:>9.1f}x" if best[c] > 0.005 else f"{'-':>10}" for c in cols))
        lat = best["latency"]
        if lat:
            per = best["run_s"] / max(1, best["samples"])
            print(f"warm run stage: {per * 1e3:.1f} ms per sample; median {lat['median']:,.0f} {lat['unit']} per "
                  f"inference")
        print(f"best warm deploy: {best['wall']:.2f} s wall ({'under' if best['wall'] < 10 else 'OVER'} the 10 s "
              f"goal); cold is {ratio:.1f}x slower")


if __name__ == "__main__":
    main()
