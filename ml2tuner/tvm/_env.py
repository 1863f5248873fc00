"""Checks of the TVM installation (done before anything can segfault)."""
from __future__ import annotations

import importlib.metadata as _md
import importlib.util
import warnings

from ..errors import UserError

#: versions seen to work together (checked on this project's machines; see ml2tuner/tvm/NOTES.md)
TESTED_TVM = "0.27.0.post1"
TESTED_FFI = "0.1.14.post0"
#: apache-tvm-ffi versions whose ABI does not match apache-tvm 0.27: tune_tir segfaults
#: (in tvm::ffi::ToJSONGraph) instead of raising
BROKEN_FFI = {"0.1.15.post2"}
PIP_PINS = f"pip install apache-tvm=={TESTED_TVM} 'apache-tvm-ffi=={TESTED_FFI}' psutil cloudpickle"


class TVMUnavailable(UserError):
    """TVM is not installed, or installed with a known-broken companion package."""


def _version(dist: str) -> str | None:
    try:
        return _md.version(dist)
    except _md.PackageNotFoundError:
        return None


def tvm_available() -> tuple[bool, str]:
    """(usable, reason). Does not import tvm, so it is cheap and cannot crash."""
    if importlib.util.find_spec("tvm") is None:
        return False, f"tvm is not installed ({PIP_PINS})"
    ffi = _version("apache-tvm-ffi")
    if ffi in BROKEN_FFI:
        return False, (f"apache-tvm-ffi {ffi} segfaults inside MetaSchedule with apache-tvm "
                       f"{_version('apache-tvm')}; install 'apache-tvm-ffi=={TESTED_FFI}'")
    for mod in ("psutil", "cloudpickle", "xgboost"):
        if importlib.util.find_spec(mod) is None:
            return False, f"{mod} is needed by TVM MetaSchedule ({PIP_PINS})"
    return True, ""


def require_tvm():
    """Import and return `tvm`, or raise TVMUnavailable with the fix in the message."""
    ok, why = tvm_available()
    if not ok:
        raise TVMUnavailable(why)
    tv, ffi = _version("apache-tvm"), _version("apache-tvm-ffi")
    if (tv, ffi) != (TESTED_TVM, TESTED_FFI):
        warnings.warn(f"ml2tuner.tvm was tested with apache-tvm {TESTED_TVM} + apache-tvm-ffi "
                      f"{TESTED_FFI}; found {tv} + {ffi}", RuntimeWarning, stacklevel=2)
    import tvm  # noqa: PLC0415
    return tvm
