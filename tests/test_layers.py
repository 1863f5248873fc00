"""Layers point one way: the command line imports the library, never the reverse."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

from ml2tuner.cli.common import emit, parse_hp
from ml2tuner.errors import UserError

PKG = Path(__file__).resolve().parents[1] / "ml2tuner"


def _imports(path: Path) -> set[str]:
    """Absolute names of the ml2tuner modules `path` imports (relative imports resolved)."""
    mod = path.relative_to(PKG.parent).with_suffix("").parts
    pkg = mod[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = list(pkg[:len(pkg) - node.level + 1]) if node.level else []
            name = ".".join(base + ([node.module] if node.module else []))
            out.add(name)
            out.update(f"{name}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_no_library_module_imports_the_cli():
    offenders = [str(p.relative_to(PKG)) for p in PKG.rglob("*.py")
                 if "cli" not in p.relative_to(PKG).parts[:1]
                 and any(n == "ml2tuner.cli" or n.startswith("ml2tuner.cli.")
                         for n in _imports(p))]
    assert offenders == []


def test_importing_the_library_does_not_load_the_cli():
    code = ("import sys, ml2tuner.session, ml2tuner.offline, ml2tuner.transfer, "
            "ml2tuner.hpo.evaluate, ml2tuner.data.traces, ml2tuner.tvm; "
            "print(any(m == 'ml2tuner.cli' or m.startswith('ml2tuner.cli.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=PKG.parent, check=True).stdout.strip()
    assert out == "False"


def test_parse_hp_reads_json_values_else_strings():
    assert parse_hp(["a=3", "b=0.5", "c=true", "d=sa", "e=[1, 2]", "f=x=y"]) == {
        "a": 3, "b": 0.5, "c": True, "d": "sa", "e": [1, 2], "f": "x=y"}
    assert parse_hp(None) == {}
    with pytest.raises(UserError, match="NAME=VALUE"):
        parse_hp(["n_init"])


def test_emit_prints_json_or_text(capsys):
    import numpy as np
    emit({"x": np.float32(1.5)}, True, lambda d: print("human"))
    emit({"x": 1}, False, lambda d: print(f"x is {d['x']}"))
    assert capsys.readouterr().out == '{"x": 1.5}\nx is 1\n'
