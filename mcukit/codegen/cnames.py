"""C spelling helpers: identifiers, string literals, comments and array initialisers for generated code."""

from __future__ import annotations

import re

import numpy as np

# IR dtype -> C element type of a tensor in the arena or in flash.
C_TYPES = {
    "int8": "int8_t",
    "uint8": "uint8_t",
    "int16": "int16_t",
    "int32": "int32_t",
    "int64": "int64_t",
    "float32": "float",
    "float16": "uint16_t",  # bit pattern only; no kernel computes in half precision
    "float64": "double",
    "bool": "uint8_t",
}

NUMPY_OF_CTYPE = {
    "int8_t": np.int8,
    "uint8_t": np.uint8,
    "int16_t": np.int16,
    "uint16_t": np.uint16,
    "int32_t": np.int32,
    "uint32_t": np.uint32,
    "int64_t": np.int64,
    "float": np.float32,
    "double": np.float64,
}

_NOT_IDENT = re.compile(r"[^A-Za-z0-9_]+")


def identifier(text: str, max_len: int = 40) -> str:
    """A C identifier fragment from arbitrary text (lower case, [a-z0-9_], never empty, no leading digit)."""
    s = _NOT_IDENT.sub("_", text).strip("_").lower()
    s = re.sub(r"_+", "_", s)[:max_len].rstrip("_")
    if not s:
        s = "x"
    if s[0].isdigit():
        s = "n" + s
    return s


def c_string(text: str) -> str:
    """A C string literal holding `text` (non-ASCII and control characters escaped as octal)."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch in "\\\"":
            out.append("\\" + ch)
        elif 32 <= code < 127 and ch != "?":  # '?' escaped to dodge trigraphs
            out.append(ch)
        else:
            out.extend(f"\\{b:03o}" for b in ch.encode())
    return '"' + "".join(out) + '"'


def comment(text: str) -> str:
    """Text that is safe inside a /* */ comment and on one line."""
    return "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text).replace("*/", "* /")


def initializer(values: np.ndarray, ctype: str, per_line: int = 24) -> str:
    """Comma-separated literal list of `values` converted to `ctype`, wrapped over lines."""
    flat = np.ascontiguousarray(values).reshape(-1)
    if ctype in ("float", "double"):
        items = [repr(float(v)) + ("f" if ctype == "float" else "") for v in flat.tolist()]
    else:
        info = np.iinfo(NUMPY_OF_CTYPE[ctype])
        if flat.size and (flat.min() < info.min or flat.max() > info.max):
            raise ValueError(f"values out of range for {ctype}")
        ints = [int(v) for v in flat.tolist()]
        if ctype == "int32_t":
            # INT32_MIN cannot be written as a literal without overflowing the negation.
            items = ["(-2147483647 - 1)" if v == -2147483648 else str(v) for v in ints]
        elif ctype == "int64_t":
            items = ["(-9223372036854775807LL - 1)" if v == -(2**63) else f"{v}LL" for v in ints]
        elif ctype == "uint32_t":
            items = [f"{v}u" for v in ints]
        else:
            items = [str(v) for v in ints]
    if not items:
        return "0"
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return ",\n    ".join(lines)
