"""The core stays platform-neutral: only adapters may import Slack or Discord SDKs."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "bot"
PLATFORM_MODULES = ("slack_bolt", "slack_sdk", "discord")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_never_imports_platform_sdks() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "adapters" in path.relative_to(PACKAGE).parts:
            continue
        for name in _imports(path):
            if name.split(".")[0] in PLATFORM_MODULES:
                offenders.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert not offenders, offenders


def test_nothing_reads_the_environment_at_import_time() -> None:
    # Settings is the only place configuration comes from; os.environ/getenv elsewhere is a bug.
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        source = path.read_text()
        if "os.environ" in source or "os.getenv" in source:
            offenders.append(str(path.relative_to(PACKAGE)))
    assert not offenders, offenders
