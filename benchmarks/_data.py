"""Paths shared by the benchmark scripts (run as `python benchmarks/NAME.py`)."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SHARED = ROOT.parent / "shared" / "data" / "kerneltuner"
# the real GPU caches (the T4-schema copy of the A100 convolution cache is the same data)
GPU = ["convolution_milo__A100", "convolution_milo__A4000", "dedispersion_milo__A100",
       "legacy_convolution__RTX_3090", "legacy_gemm__RTX_3090", "legacy_pnpoly__RTX_3090"]


def provenance() -> dict:
    """The command line and git commit that produce a result, recorded beside it."""
    import subprocess
    import sys
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                    cwd=ROOT, capture_output=True, text=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = "unknown", False
    return {"command": "python " + " ".join(sys.argv), "commit": commit + ("+dirty" if dirty else "")}


def write_result(name: str, text: str, data: dict) -> None:
    """benchmarks/results/NAME.txt (human) and NAME.json (machine), both with provenance."""
    import json
    RESULTS.mkdir(parents=True, exist_ok=True)
    prov = provenance()
    (RESULTS / f"{name}.txt").write_text(
        f"# {prov['command']}\n# commit {prov['commit']}\n{text.rstrip()}\n")
    (RESULTS / f"{name}.json").write_text(json.dumps({**prov, **data}, indent=1) + "\n")
