"""Each import contract fails when broken: a probe import in a copy of the tree is reported."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("tree")
    shutil.copytree(
        ROOT / "civicdesk", copy / "civicdesk", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_unmodified_copy_keeps_every_contract(tree: Path) -> None:
    result = _lint(tree)

    assert result.returncode == 0, result.stdout
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "probe", "contract"),
    [
        (
            "civicdesk/routing/probe.py",
            "import civicdesk.cases.selectors\n",
            "Layers: interfaces -> cases -> domain -> catalogue -> accounts -> kernel BROKEN",
        ),
        (
            "civicdesk/portal/probe.py",
            "import civicdesk.routing.models\n",
            "Apps reach each other only through services, selectors and events BROKEN",
        ),
        (
            "civicdesk/channels/adapters/console/probe.py",
            "import django.db.models\n",
            "Channel adapters know only the channel contract and the core, never the ORM BROKEN",
        ),
        (
            "civicdesk/channels/adapters/console/probe.py",
            "import civicdesk.channels.adapters.api.adapter\n",
            "Channel adapters are independent of each other BROKEN",
        ),
        (
            "civicdesk/sla/kernels/probe.py",
            "import django.utils.timezone\n",
            "Pure kernels import no Django BROKEN",
        ),
    ],
)
def test_a_probe_import_breaks_its_contract(
    tree: Path, module: str, probe: str, contract: str
) -> None:
    path = tree / module
    created_package = not path.parent.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / "__init__.py").touch()
    path.write_text(probe)
    try:
        result = _lint(tree)
    finally:
        path.unlink()
        if created_package:
            shutil.rmtree(path.parent)

    assert result.returncode == 1
    assert contract in " ".join(result.stdout.split())
