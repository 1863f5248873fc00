"""Paths shared by the benchmark scripts (run as `python benchmarks/NAME.py`)."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SHARED = ROOT.parent / "shared" / "data" / "kerneltuner"
# the real GPU caches (the T4-schema copy of the A100 convolution cache is the same data)
GPU = ["convolution_milo__A100", "convolution_milo__A4000", "dedispersion_milo__A100",
       "legacy_convolution__RTX_3090", "legacy_gemm__RTX_3090", "legacy_pnpoly__RTX_3090"]
