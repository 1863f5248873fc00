"""Paths shared by the benchmark scripts (run as `python benchmarks/NAME.py`)."""
import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SHARED = ROOT.parent / "shared" / "data" / "kerneltuner"
# the real GPU caches (the T4-schema copy of the A100 convolution cache is the same data)
GPU = ["convolution_milo__A100", "convolution_milo__A4000", "dedispersion_milo__A100",
       "legacy_convolution__RTX_3090", "legacy_gemm__RTX_3090", "legacy_pnpoly__RTX_3090"]
# ML2Tuner's GPU-cache method changes were developed on these; the others are held out
GPU_DEV = ["convolution_milo__A100", "dedispersion_milo__A100", "legacy_pnpoly__RTX_3090"]
GPU_HELD_OUT = ["convolution_milo__A4000", "legacy_convolution__RTX_3090", "legacy_gemm__RTX_3090"]


def provenance(argv=None) -> dict:
    """The command that produced a result and the git commit it ran on ("+dirty" with
    uncommitted changes outside benchmarks/results: result files written by this or another
    benchmark running in the same checkout change nothing that is measured, and a result file
    read back as input, such as gpu_caches.py --reuse-kt, records its own commit)."""
    args = sys.argv[1:] if argv is None else list(argv)
    script = Path(sys.argv[0]).resolve()
    script = script.relative_to(ROOT) if script.is_relative_to(ROOT) else script
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                ".", ":!benchmarks/results"],
                               cwd=ROOT, capture_output=True, text=True).stdout.strip()
        commit += "+dirty" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {"command": " ".join(["python", str(script), *args]), "commit": commit}


def plain_name(name: str) -> str:
    """An argparse `type` for a result name: letters, digits, '_' and '-' only, so that it stays
    a file in benchmarks/results."""
    if not name.replace("_", "").replace("-", "").isalnum():
        raise argparse.ArgumentTypeError(f"{name!r} is not a plain file name (letters, digits, "
                                         "'_' and '-')")
    return name


def write_result(name: str, text: str, data: dict, prov: dict | None = None) -> None:
    """benchmarks/results/NAME.txt (human) and NAME.json (machine), both with provenance."""
    prov = prov or provenance()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.txt").write_text(
        f"# {prov['command']}\n# commit {prov['commit']}\n{text.rstrip()}\n")
    (RESULTS / f"{name}.json").write_text(json.dumps({**prov, **data}, indent=1) + "\n")
