"""The sync app's shape: imports inside it go one way (at any depth, function bodies
included), and every sync setting is read through `sync.conf`, its default there."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

from sync import conf

SYNC = Path(conf.__file__).resolve().parent
ROOT = SYNC.parent


def modules() -> dict[str, Path]:
    found = {}
    for path in SYNC.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The sync modules `path` imports anywhere in it. `from package import module` names the
    module, `from module import name` the module (as grimp and import-linter count them)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            named = {f"{node.module}.{alias.name}" for alias in node.names}
            found |= named & set(known)
            if named - set(known):
                found.add(node.module)
    return found & set(known)


def cycle(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> list[str]:
        state[module] = 1
        stack.append(module)
        for other in sorted(graph[module]):
            if state.get(other) == 1:
                return [*stack[stack.index(other) :], other]
            if other not in state and (found := visit(other)):
                return found
        stack.pop()
        state[module] = 2
        return []

    for module in sorted(graph):
        if module not in state and (found := visit(module)):
            return found
    return []


def test_no_import_cycle_within_sync():
    known = modules()
    graph = {name: imports(path, known) - {name} for name, path in known.items()}

    assert cycle(graph) == []


def test_every_sync_setting_has_its_default_in_sync_conf():
    read = set()
    for path in modules().values():
        read |= set(re.findall(r"\bDAYFLOW_SYNC_[A-Z_]+", path.read_text()))

    assert read <= set(conf.DEFAULTS)
    assert "getattr(settings" not in "".join(
        p.read_text() for p in modules().values() if p != Path(conf.__file__).resolve()
    )


def test_the_environment_overrides_a_sync_default(tmp_path):
    # given a deployment that sets one in the environment and leaves the others alone
    env = {**os.environ, "DAYFLOW_SYNC_BATCH": "7", "DAYFLOW_VAR_DIR": str(tmp_path)}
    env |= {"DJANGO_SETTINGS_MODULE": "dayflow.settings"}
    code = (
        "import django; django.setup()\n"
        "from sync import conf\n"
        "print(conf.get('DAYFLOW_SYNC_BATCH'), conf.get('DAYFLOW_SYNC_JOB_LEASE'))"
    )

    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )

    assert done.stdout.split() == ["7", str(conf.DEFAULTS["DAYFLOW_SYNC_JOB_LEASE"])], done.stderr
