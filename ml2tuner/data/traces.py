"""Trace files: append-only JSON Lines, one header record, then one record per event.

    {"record": "header", "schema": 2, "space": {...}, "accel": {...}, "workload": "...", ...}
    {"record": "compile", "index": 5, "status": "ok", "compile_time": 0.61, "clock": 0.61}
    {"record": "measure", "seq": 0, "index": 17, "config": {...}, "status": "ok", "cost": ...,
     "compile_time": 0.6, "run_time": 1.3, "profile_time": 1.9, "clock": 2.51}

Schema 2 records the run's simulated clock: compile-only events (hidden features, screening)
are `compile` records, and each measurement carries its compile and run parts, what it charged
(`profile_time`) and the clock after it. Schema 1 (no compile records, one `profile_time` per
measurement) is still read; for accelerator traces its compile part is rebuilt from the header's
profiling constants.

Writers flush and fsync every record, so a run killed at any moment loses nothing it measured,
and hold an advisory lock on the file, so a second writer is refused instead of interleaving.
Readers check every record (types, values, membership of the header's space) and name the file
and line of a bad one; a truncated *last* line (a write cut off by a kill) is skipped and
reported as a warning. Plain or gzip-compressed (`.gz`).
"""
from __future__ import annotations

import datetime as _dt
import gzip
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .. import __version__
from ..errors import TraceFormatError, UserError
from ..fileio import FileLock
from ..measure import MeasureResult, Status
from ..space import Space
from ..validate import loads_strict
from .validation import (compile_record_problem, header_problem, measure_record_problem,
                         result_problem)

SCHEMA_VERSION = 2
READABLE_SCHEMAS = (1, 2)


def _open_text(path: Path, mode: str):
    if str(path).endswith(".gz"):
        return gzip.open(path, mode + "t", encoding="utf-8")
    return open(path, mode, encoding="utf-8")


def make_header(space: Space, /, **meta) -> dict:
    h = {"record": "header", "schema": SCHEMA_VERSION, "tool": f"ml2tuner {__version__}",
         "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
         "space": space.to_dict()}
    meta.pop("space", None)   # the Space object given is the authority
    h.update(meta)
    return h


@dataclass
class Trace:
    path: str
    header: dict
    results: list[MeasureResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    compiles: list[dict] = field(default_factory=list)   # compile-only events, in order

    @property
    def space(self) -> Space:
        return Space.from_dict(self.header["space"])


def iter_records(path) -> Iterator[tuple[int, dict]]:
    """Yield (line number, record) for every record; the header is the first one yielded."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"trace file not found: {path}")
    try:
        with _open_text(path, "r") as f:
            # one line of lookahead: only the *last* line may be a truncated write
            prev, n = None, 0
            for line in f:
                if prev is not None:
                    yield from _parse_line(path, n, prev, last=False)
                prev, n = line, n + 1
            if prev is not None:
                yield from _parse_line(path, n, prev, last=True)
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read trace {path}: {e}") from None


def _parse_line(path, n: int, line: str, last: bool):
    if not line.strip():
        return
    try:
        rec = loads_strict(line)
    except json.JSONDecodeError as e:
        if last and not line.endswith("\n"):
            yield n, {"record": "truncated"}
            return
        raise TraceFormatError(path, n, f"not valid JSON ({e.msg})") from None
    except (ValueError, RecursionError) as e:     # NaN/Infinity, a repeated key, deep nesting
        raise TraceFormatError(path, n, f"not valid JSON ({e})") from None
    if not isinstance(rec, dict) or not isinstance(rec.get("record"), str):
        raise TraceFormatError(path, n, "a record must be a JSON object with a 'record' field")
    yield n, rec


def _space_of(path, n, header) -> Space | None:
    """The header's space, or None for an open (not enumerable) space."""
    if header["space"].get("kind") == "open":
        return None
    try:
        return Space.from_dict(header["space"])
    except (UserError, ValueError, TypeError, OverflowError) as e:
        raise TraceFormatError(path, n, f"header space is malformed ({e})") from None


def read_trace(path) -> Trace:
    header, results, warnings, compiles, space = None, [], [], [], None
    for n, rec in iter_records(path):
        kind = rec["record"]
        if kind == "truncated":
            warnings.append(f"{path}:{n}: truncated last line skipped (interrupted write)")
        elif kind == "header":
            if header is not None:
                raise TraceFormatError(path, n, "a second header record")
            if rec.get("schema") not in READABLE_SCHEMAS:
                raise TraceFormatError(path, n, f"unsupported schema {rec.get('schema')!r} "
                                                f"(this ml2tuner reads {READABLE_SCHEMAS})")
            if "space" not in rec:
                raise TraceFormatError(path, n, "header lacks 'space'")
            problem = header_problem(rec)
            if problem:
                raise TraceFormatError(path, n, problem)
            header = rec
            space = _space_of(path, n, header)
        elif kind == "measure":
            if header is None:
                raise TraceFormatError(path, n, "a measurement before the header")
            problem = measure_record_problem(rec)
            if problem is None and rec.get("seq", len(results)) != len(results):
                problem = (f"'seq' {rec['seq']} where {len(results)} was expected (records "
                           "lost, or two runs wrote to this trace)")
            if problem:
                raise TraceFormatError(path, n, f"malformed measurement: {problem}")
            r = MeasureResult.from_record(rec)
            problem = result_problem(r, space) if space is not None else None
            if problem:
                raise TraceFormatError(path, n, problem)
            results.append(r)
        elif kind == "compile":
            if header is None:
                raise TraceFormatError(path, n, "a compile record before the header")
            problem = compile_record_problem(rec, len(space) if space is not None else None)
            if problem:
                raise TraceFormatError(path, n, f"malformed compile record: {problem}")
            compiles.append({"record": "compile", "index": rec["index"], "status": rec["status"],
                             "compile_time": float(rec["compile_time"]),
                             "clock": float(rec["clock"])})
        else:
            raise TraceFormatError(path, n, f"unknown record type {kind!r}")
    if header is None:
        raise TraceFormatError(path, 1, "empty trace: no header record")
    if header["schema"] == 1:
        _split_schema1(header, results)
    return Trace(str(path), header, results, warnings, compiles)


def _split_schema1(header: dict, results) -> None:
    """Schema 1 kept one profile time per measurement. A compile failure is all compile time;
    for an accelerator trace the compile part of the others follows from the header's profiling
    constants and the program's micro-op count (as `AccelMeasurer` charges it). Elsewhere the
    split stays unknown (None)."""
    prof = (header.get("accel") or {}).get("profiling") or {}
    for r in results:
        if r.compile_time is not None:
            continue
        if r.status == Status.COMPILE_ERROR:
            r.compile_time, r.run_time = r.profile_time, 0.0
        elif "compile_base_s" in prof and "uop_total" in r.hidden:
            r.compile_time = (prof["compile_base_s"] + prof.get("compile_per_kuop_s", 0.0)
                              * r.hidden["uop_total"] / 1000)
            r.run_time = r.profile_time - r.compile_time


class TraceWriter:
    """Appends measurements to a trace, creating it (with `header`) when absent or empty.

    The writer holds an advisory lock on the file for its lifetime: a second writer gets a
    `UserError` naming the file. An existing trace is continued only when `append`; its header
    must agree with `header` on every key of `match` (the space always), and every record is
    checked by `read_trace`. `existing` is that trace (None for a new file). A file holding only
    a header cut short by a kill counts as empty.
    """

    def __init__(self, path, header: dict, *, append: bool = True, match=("space",)):
        self.path = Path(path)
        if str(self.path).endswith(".gz"):
            raise UserError("traces are written uncompressed; compress finished traces with gzip")
        self._lock = FileLock(self.path, "trace")
        self.seq = 0
        self.existing: Trace | None = None
        try:
            if _holds_records(self.path):
                if not append:
                    raise UserError(f"{self.path} exists; pass --resume to continue it or "
                                    "choose another file")
                old = read_trace(self.path)
                for key in dict.fromkeys(("space", *match)):
                    if old.header.get(key) != header.get(key):
                        what = "another space" if key == "space" else f"another {key!r}"
                        raise UserError(f"{self.path} holds a trace of {what} than this run; "
                                        "choose another file")
                self.existing = old
                self.seq = len(old.results)
                self._repair_tail()
            else:
                with open(self.path, "w", encoding="utf-8"):
                    pass                  # drop a header torn by a killed run
                self._write_line(header)
        except BaseException:
            self._lock.release()
            raise

    def _repair_tail(self):
        """End the file with a newline: a last line that is a complete record gets its newline,
        a truncated one (an interrupted write) is cut, so appended records start afresh."""
        with open(self.path, "rb+") as f:
            data = f.read()
            if data and not data.endswith(b"\n"):
                cut = data.rfind(b"\n") + 1
                try:
                    complete = isinstance(json.loads(data[cut:]), dict)
                except ValueError:
                    complete = False
                if complete:
                    f.write(b"\n")
                else:
                    f.truncate(cut)
                f.flush()
                os.fsync(f.fileno())

    def _write_line(self, rec: dict):
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec, separators=(",", ":")) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def append_compile(self, event: dict):
        """A compile-only event of `clock.SimClock` (index, status, compile_time, clock)."""
        self._write_line(dict(event, record="compile"))

    def append(self, result: MeasureResult, **extra):
        rec = {"record": "measure", "seq": self.seq}
        rec.update(result.to_record())
        rec.update(extra)
        self._write_line(rec)
        self.seq += 1

    def close(self):
        """Release the lock (the file stays as written)."""
        self._lock.release()


def _holds_records(path: Path) -> bool:
    """True if the file has a complete line, or is one complete JSON record without its
    newline; False for an absent or empty file or a torn first line."""
    if not path.exists():
        return False
    with open(path, "rb") as f:
        head = b""
        while b"\n" not in head:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            head += chunk
    if not head.strip():
        return False
    if b"\n" in head:
        return True
    try:
        return isinstance(json.loads(head), dict)
    except ValueError:
        # the start of a header whose write a kill cut short holds nothing; anything else
        # is not ours to overwrite, and the reader will say what is wrong with it
        return not (_HEADER_START.startswith(head) or head.startswith(_HEADER_START))


_HEADER_START = b'{"record":"header"'


def write_trace(path, header: dict, results) -> None:
    """Write a whole trace at once (plain or .gz) into a temporary file that replaces `path`
    only when complete, so an interrupted write never damages an earlier file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with _open_text(tmp if not str(path).endswith(".gz") else Path(str(tmp) + ".gz"),
                        "w") as f:
            f.write(json.dumps(header, separators=(",", ":")) + "\n")
            for seq, r in enumerate(results):
                rec = {"record": "measure", "seq": seq}
                rec.update(r.to_record())
                f.write(json.dumps(rec, separators=(",", ":")) + "\n")
        if str(path).endswith(".gz"):
            os.replace(str(tmp) + ".gz", tmp)
        _fsync_file(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        Path(str(tmp) + ".gz").unlink(missing_ok=True)


def finish_trace(partial, path) -> None:
    """Move a completed plain trace `partial` to `path`, gzip-compressing it for a `.gz` name;
    `path` is replaced only once the new file is complete on disk."""
    partial, path = Path(partial), Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if str(path).endswith(".gz"):
        import shutil
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with open(partial, "rb") as src, gzip.open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            _fsync_file(tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        partial.unlink()
    else:
        _fsync_file(partial)
        os.replace(partial, path)


def _fsync_file(path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def to_dataframe(trace: Trace):
    """One row per measurement: knob columns, status, cost, cycles, gflops, counters, hidden."""
    import pandas as pd
    rows = []
    for r in trace.results:
        row = dict(r.config)
        row.update(index=r.index, status=r.status.value, cost=r.cost, cycles=r.cycles,
                   gflops=r.gflops, profile_time=r.profile_time, compile_time=r.compile_time,
                   run_time=r.run_time, clock=r.clock)
        row.update({f"counter.{k}": v for k, v in r.counters.items()})
        row.update({f"hidden.{k}": v for k, v in r.hidden.items()})
        rows.append(row)
    return pd.DataFrame(rows)


__all__ = ["SCHEMA_VERSION", "READABLE_SCHEMAS", "Trace", "TraceWriter", "finish_trace",
           "iter_records", "make_header", "read_trace", "to_dataframe", "write_trace", "Status"]
