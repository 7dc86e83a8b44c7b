"""Budgets checked against a deploy's results (schema mcukit.results/1): one CheckResult per check.

Verdicts: "pass", "fail" (measured outside the budget), "error" (could not be measured because the build, the
board or the environment failed) and "skipped" (not measurable here, e.g. energy without a cycle estimate, or no
baseline yet). A skipped check is never counted as passed.

On emulated boards the instruction budget is checked against exact counts (QEMU plugin), a cycle budget against
ESTIMATED cycles (timing model) and the energy budget against MODELED energy; their messages say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from mcukit.hil.config import Budgets, Case

Verdict = Literal["pass", "fail", "error", "skipped"]
REGRESSION_METRICS = ("latency", "flash", "ram")


@dataclass(frozen=True)
class CheckResult:
    case: str  # "model@board"
    check: str  # "flash", "latency", "regression_latency", ...
    verdict: Verdict
    measured: str  # human-readable, with units ("" when not measured)
    allowed: str
    message: str  # why it failed / errored / was skipped ("" for a pass)
    measured_value: float | None = None
    allowed_value: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {"case": self.case, "check": self.check, "verdict": self.verdict, "measured": self.measured,
                "allowed": self.allowed, "message": self.message, "measured_value": self.measured_value,
                "allowed_value": self.allowed_value}


def check_names(budgets: Budgets) -> list[str]:
    """The checks a case runs, in report order."""
    names = []
    for name, attr in (("flash", "max_flash_bytes"), ("ram", "max_ram_bytes"), ("arena", "max_arena_bytes"),
                       ("latency", "max_latency"), ("energy", "max_energy_uj")):
        if getattr(budgets, attr) is not None:
            names.append(name)
    if budgets.bit_exact:
        names.append("bit_exact")
    if budgets.min_accuracy is not None:
        names.append("accuracy")
    if budgets.max_regression_pct is not None:
        names += [f"regression_{m}" for m in REGRESSION_METRICS]
    return names


def error_results(case: Case, message: str, names: list[str] | None = None) -> list[CheckResult]:
    """Every (remaining) check of a case as an error: nothing could be measured."""
    return [CheckResult(case.key, name, "error", "", _allowed_text(case.budgets, name), message)
            for name in (names if names is not None else check_names(case.budgets))]


def _bytes(n: float) -> str:
    return f"{n:,.0f} bytes"


def _allowed_text(b: Budgets, name: str) -> str:
    if name == "flash" and b.max_flash_bytes is not None:
        return f"<= {_bytes(b.max_flash_bytes)}"
    if name == "ram" and b.max_ram_bytes is not None:
        return f"<= {_bytes(b.max_ram_bytes)}"
    if name == "arena" and b.max_arena_bytes is not None:
        return f"<= {_bytes(b.max_arena_bytes)}"
    if name == "latency" and b.max_latency is not None:
        return f"<= {b.max_latency}"
    if name == "energy" and b.max_energy_uj is not None:
        return f"<= {b.max_energy_uj:g} uJ"
    if name == "bit_exact":
        return "bit-exact"
    if name == "accuracy" and b.min_accuracy is not None:
        return f">= {b.min_accuracy:.1%}"
    if name.startswith("regression_") and b.max_regression_pct is not None:
        return f"<= baseline + {b.max_regression_pct:g} %"
    return ""


def _limit(case: Case, name: str, measured: float, allowed: float, fmt, *, at_least: bool = False) -> CheckResult:
    ok = measured >= allowed if at_least else measured <= allowed
    relation = "below the minimum" if at_least else "over the budget"
    message = "" if ok else f"{name}: measured {fmt(measured)}, allowed {'>=' if at_least else '<='} {fmt(allowed)} " \
                            f"({relation} by {fmt(abs(measured - allowed))})"
    return CheckResult(case.key, name, "pass" if ok else "fail", fmt(measured), _allowed_text(case.budgets, name),
                       message, float(measured), float(allowed))


def latency_in(results: dict[str, Any], unit: str) -> float | None:
    """The median latency in `unit` (instructions, cycles or ms), or None if the results do not have it."""
    return latency_value(results, unit)[0]


def latency_value(results: dict[str, Any], unit: str) -> tuple[float | None, bool]:
    """(median latency in `unit`, whether it is an estimate); (None, False) if the results do not have it.

    instructions: the exact `instructions` block of an emulated run (QEMU plugin), else a `latency` block in
    instructions (the SysTick figure of older or partial results). cycles: a `latency` block in device cycles, or
    in estimated cycles (emulated boards: an estimate). ms: `latency.ms` (an estimate when the latency is)."""
    lat = results.get("latency") or {}
    if unit == "instructions":
        ins = results.get("instructions") or {}
        if ins.get("median") is not None:
            return float(ins["median"]), False
        return (lat.get("median"), False) if lat.get("unit") == "instructions" else (None, False)
    if not lat:
        return None, False
    estimate = bool(lat.get("estimate")) or lat.get("unit") == "estimated_cycles"
    if unit == "ms":
        return lat.get("ms"), estimate
    if unit == "cycles" and lat.get("unit") in ("cycles", "estimated_cycles"):
        return lat.get("median"), estimate
    return None, False


def energy_uj(results: dict[str, Any], case: Case) -> tuple[float | None, str]:
    """Energy per inference in uJ and where it comes from (`measured` or `modeled`); None with the reason when it
    was not measured.

    Taken from the results' `energy` (measured by a current sensor, or modeled by the pipeline: emulated boards
    model it from estimated cycles), else modeled from `latency.estimated_cycles` with the board's datasheet
    figures."""
    energy = results.get("energy") or {}
    if energy.get("uj_per_inference") is not None:
        return float(energy["uj_per_inference"]), str(energy.get("source", "measured"))
    est = (results.get("latency") or {}).get("estimated_cycles")
    if isinstance(est, dict):
        est = est.get("total")
    if est is not None:
        from mcukit.measure.energy import modeled_energy_for_board

        return modeled_energy_for_board(case.board, float(est)).uj_per_inference, "modeled"
    return None, ("not measured: this run has neither an energy measurement nor an estimated cycle count "
                  "(a current sensor or the QEMU timing model provides one)")


def _latency_check(case: Case, results: dict[str, Any]) -> CheckResult:
    b = case.budgets
    assert b.max_latency is not None
    unit = b.max_latency.unit
    value, estimate = latency_value(results, unit)
    if value is None:
        reported = (results.get("latency") or {}).get("unit")
        why = f"the board reports latency in {reported}, not {unit}" if reported else "no latency measured"
        return _missing(case, "latency", why)
    r = _limit(case, "latency", value, b.max_latency.value, _unit_fmt(unit))
    if not estimate:
        return r
    # Emulated boards: cycles (and ms) are the timing model's estimate from exact instruction counts; say so.
    model = (results.get("latency") or {}).get("timing_model", "the core's")
    message = r.message.replace("latency: measured", "latency: estimated", 1)
    if message:
        message += f" [an estimate: exact instruction counts priced with the {model} timing model]"
    return CheckResult(r.case, r.check, r.verdict, f"{r.measured} (estimated)", r.allowed, message,
                       r.measured_value, r.allowed_value)


def _energy_check(case: Case, results: dict[str, Any]) -> CheckResult:
    b = case.budgets
    assert b.max_energy_uj is not None
    value, source = energy_uj(results, case)
    if value is None:
        return CheckResult(case.key, "energy", "skipped", "", _allowed_text(b, "energy"), source)
    r = _limit(case, "energy", value, b.max_energy_uj, lambda v: f"{v:.4g} uJ")
    message = r.message
    if message and source != "measured":
        # A modeled figure (datasheet current x estimated or measured cycles) is not a measurement: say which it is.
        message = message.replace("energy: measured", f"energy: {source}", 1)
        message += f" [{source} from the board's power figures, not measured; see energy.basis in the results]"
    return CheckResult(r.case, r.check, r.verdict, f"{r.measured} ({source})", r.allowed, message,
                       r.measured_value, r.allowed_value)


def evaluate(case: Case, results: dict[str, Any], baseline: dict[str, Any] | None,
             *, update_baseline: bool = False) -> list[CheckResult]:
    """Check a case's results against its budgets (and the baseline entry for this case, if any)."""
    b = case.budgets
    out: list[CheckResult] = []
    mem = results.get("memory") or {}
    for name in check_names(b):
        if name in ("flash", "ram", "arena"):
            value = mem.get(f"{name}_bytes")
            limit = getattr(b, f"max_{name}_bytes")
            out.append(_limit(case, name, value, limit, _bytes) if value is not None else
                       _missing(case, name, "the build did not report it"))
        elif name == "latency":
            out.append(_latency_check(case, results))
        elif name == "energy":
            out.append(_energy_check(case, results))
        elif name == "bit_exact":
            v = results.get("validation") or {}
            if "bit_exact" not in v:
                out.append(_missing(case, name, "the outputs were not compared"))
            elif v["bit_exact"]:
                out.append(CheckResult(case.key, name, "pass", f"bit-exact on {v.get('samples')} samples",
                                       "bit-exact", "", 0.0, 0.0))
            else:
                measured = f"{v['mismatches']} of {v.get('elements')} elements differ (max {v.get('max_abs_diff')} LSB)"
                out.append(CheckResult(case.key, name, "fail", measured, "bit-exact",
                                       f"bit_exact: measured {measured} vs the {v.get('reference')} reference "
                                       f"(samples {v.get('mismatched_samples', [])[:10]}), allowed 0 differences",
                                       float(v["mismatches"]), 0.0))
        elif name == "accuracy":
            acc = results.get("accuracy") or {}
            if "board_top1" not in acc:
                out.append(_missing(case, name, "no labelled samples were run"))
            else:
                assert b.min_accuracy is not None
                out.append(_limit(case, name, acc["board_top1"], b.min_accuracy, lambda v: f"{v:.1%}",
                                  at_least=True))
        else:
            out.append(_regression(case, name.removeprefix("regression_"), results, baseline, update_baseline))
    return out


def _missing(case: Case, name: str, why: str) -> CheckResult:
    return CheckResult(case.key, name, "error", "", _allowed_text(case.budgets, name), f"{name}: not measured: {why}")


def _unit_fmt(unit: str):
    if unit == "ms":
        return lambda v: f"{v:,.3f} ms"
    return lambda v: f"{v:,.0f} {unit}"


def baseline_value(metric: str, results: dict[str, Any]) -> tuple[float | None, str]:
    """(value, unit) of a regression metric in a results dict or a baseline entry."""
    if metric == "latency":
        # Emulated runs: the exact instruction count (deterministic, so a small percentage works), not the
        # estimated cycles of `latency`; older results and baselines carry instructions in `latency` itself.
        ins = results.get("instructions") or {}
        if ins.get("median") is not None:
            return ins["median"], "instructions"
        lat = results.get("latency") or {}
        return lat.get("median"), str(lat.get("unit", ""))
    return (results.get("memory") or {}).get(f"{metric}_bytes"), "bytes"


def _regression(case: Case, metric: str, results: dict[str, Any], baseline: dict[str, Any] | None,
                update_baseline: bool) -> CheckResult:
    name = f"regression_{metric}"
    pct = case.budgets.max_regression_pct
    assert pct is not None
    allowed_text = _allowed_text(case.budgets, name)
    value, unit = baseline_value(metric, results)
    if value is None:
        return _missing(case, name, f"no {metric} in the results")
    fmt = _unit_fmt(unit) if metric == "latency" else _bytes
    if update_baseline:
        return CheckResult(case.key, name, "skipped", fmt(value), allowed_text,
                           "the baseline is being updated with this run (--update-baseline)", float(value))
    if baseline is None:
        return CheckResult(case.key, name, "skipped", fmt(value), allowed_text,
                           "no baseline for this model and board yet: record one with `mcukit test --update-baseline`",
                           float(value))
    base, base_unit = baseline_value(metric, baseline)
    if base is None or base_unit != unit:
        return CheckResult(case.key, name, "skipped", fmt(value), allowed_text,
                           f"the baseline has no {metric} in {unit}: update it with --update-baseline", float(value))
    limit = base * (1 + pct / 100)
    change = (value - base) / base * 100 if base else 0.0
    allowed = f"<= {fmt(limit)} (baseline {fmt(base)} + {pct:g} %)"
    ok = value <= limit
    message = "" if ok else (f"{name}: measured {fmt(value)}, {change:+.1f} % against the baseline {fmt(base)}; "
                             f"allowed <= {fmt(limit)} (+{pct:g} %)")
    return CheckResult(case.key, name, "pass" if ok else "fail", f"{fmt(value)} ({change:+.1f} %)", allowed,
                       message, float(value), float(limit))
