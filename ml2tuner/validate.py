"""Checks shared by the readers and the command line: numbers, strict JSON, output paths.

Each check returns the value it accepted or raises `UserError` with one line naming the problem.
The checks of trace records and Kernel Tuner cache entries are `data.validation`; the argparse
types of the command line are `cli.args`.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

from .errors import UserError

# ----- numbers -----------------------------------------------------------------------------------
def is_number(v) -> bool:
    """A finite int or float (bool is not a number here, NaN and infinities are not finite)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def number(v, what: str, *, low=None, high=None, integer: bool = False):
    """`v` if it is a finite number (an integer when `integer`) in [low, high]."""
    if not (is_int(v) if integer else is_number(v)):
        kind = "an integer" if integer else "a finite number"
        raise UserError(f"{what} must be {kind}, got {v!r}")
    if (low is not None and v < low) or (high is not None and v > high):
        rng = f"in [{low}, {high}]" if low is not None and high is not None else (
            f">= {low}" if low is not None else f"<= {high}")
        raise UserError(f"{what} must be {rng}, got {v!r}")
    return v


# ----- JSON ---------------------------------------------------------------------------------------
def _no_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"key {k!r} given twice")
        out[k] = v
    return out


def loads_strict(text: str):
    """json.loads without NaN/Infinity and without repeated keys (ValueError names them)."""
    return json.loads(text, parse_constant=_no_constant, object_pairs_hook=_no_duplicates)


def read_json_file(path, what: str):
    """Parse a small JSON file strictly; every failure is one UserError line."""
    p = Path(path)
    if p.is_dir():
        raise UserError(f"{what} {p} is a directory, not a JSON file")
    if not p.is_file():
        raise UserError(f"{what} not found: {p}")
    try:
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise UserError(f"{p}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise UserError(f"cannot read {what} {p}: {e.strerror}") from None
    return parse_json(text, str(p))


def parse_json(text: str, source: str, at: str = "line"):
    """`text` parsed strictly (no NaN, no duplicate keys); a failure is one UserError line
    naming `source` (a file, or a flag) and the place: `at` "line" for files, "character"
    for one-line flag values."""
    try:
        return loads_strict(text)
    except json.JSONDecodeError as e:
        where = f"line {e.lineno}" if at == "line" else f"character {e.pos}"
        raise UserError(f"{source}: not valid JSON ({e.msg} at {where})") from None
    except (ValueError, RecursionError) as e:
        raise UserError(f"{source}: not valid JSON ({e})") from None


# ----- output paths -------------------------------------------------------------------------------
def _existing_ancestor(p: Path) -> Path:
    p = p.absolute()
    while not p.exists():
        p = p.parent
    return p


def check_output_file(path, what: str, *, force: bool = True, suffixes=None) -> Path:
    """Check, before any work, that a file can be written at `path` (its folders are created
    when it is written). An existing file is refused unless `force`."""
    p = Path(path)
    if not str(path).strip():
        raise UserError(f"{what}: empty path")
    if p.is_dir():
        raise UserError(f"{what} {p} is a directory; give a file name")
    if p.exists() and not force:
        raise UserError(f"{what} {p} exists; pass --force to overwrite it")
    if suffixes is not None and p.suffix.lower() not in suffixes:
        raise UserError(f"{what} {p}: unsupported file type {p.suffix or '(none)'!r} "
                        f"(use one of {', '.join(sorted(suffixes))})")
    _check_parent(p, what)
    return p


def check_output_dir(path, what: str) -> Path:
    """Check, before any work, that `path` is a folder or can be made one."""
    p = Path(path)
    if not str(path).strip():
        raise UserError(f"{what}: empty path")
    if p.exists() and not p.is_dir():
        raise UserError(f"{what} {p} exists and is not a directory")
    if p.is_dir():
        if not os.access(p, os.W_OK | os.X_OK):
            raise UserError(f"{what} {p} is not writable")
        return p
    _check_parent(p, what)
    return p


def check_bundle_dir(path, what: str) -> Path:
    """Like `check_output_dir`, for a model bundle that replaces the folder as a whole: an
    existing folder must be empty or a bundle (holding manifest.json), never other files."""
    p = check_output_dir(path, what)
    if p.is_dir() and any(p.iterdir()) and not (p / "manifest.json").is_file():
        raise UserError(f"{what} {p} is a folder that is not a model bundle; choose a new or "
                        "empty folder (it would be replaced as a whole)")
    return p


def _check_parent(p: Path, what: str):
    anc = _existing_ancestor(p.parent)
    if not anc.is_dir():
        raise UserError(f"{what} {p}: {anc} is not a directory")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise UserError(f"{what} {p}: cannot create files under {anc} (not writable)")
