"""Each import contract fails when broken: a probe import in a copy of the tree is reported."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
RUFF = Path(sys.executable).with_name("ruff")


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
        # Only path parts named `tests` (or a `test_*` module) are exempt, not look-alikes.
        (
            "civicdesk/portal/testsupport.py",
            "import civicdesk.routing.models\n",
            "Apps reach each other only through services, selectors and events BROKEN",
        ),
        (
            "civicdesk/portal/tests_helpers/probe.py",
            "import civicdesk.routing.models\n",
            "Apps reach each other only through services, selectors and events BROKEN",
        ),
        # Another app's package itself reaches all of it.
        (
            "civicdesk/portal/probe.py",
            "import civicdesk.routing\n",
            "Apps reach each other only through services, selectors and events BROKEN",
        ),
        (
            "civicdesk/portal/probe.py",
            "from civicdesk import routing\n",
            "Apps reach each other only through services, selectors and events BROKEN",
        ),
        # The test adapter outside the adapters package is held to the adapters' rules.
        (
            "civicdesk/channels/tests/sms_acme/probe.py",
            "import django.db.models\n",
            "Channel adapters know only the channel contract and the core, never the ORM BROKEN",
        ),
        (
            "civicdesk/channels/tests/sms_acme/probe.py",
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


@pytest.mark.parametrize(
    "probe",
    [
        "import importlib\n\nimportlib.import_module('civicdesk.routing.models')\n",
        "from importlib import import_module\n\nimport_module('civicdesk.routing.models')\n",
        "import importlib\n\nimportlib.__import__('civicdesk.routing.models')\n",
        "import builtins\n\nbuiltins.__import__('civicdesk.routing.models')\n",
    ],
)
def test_a_dynamic_import_outside_discovery_is_refused_by_the_linter(
    tree: Path, probe: str
) -> None:
    path = tree / "civicdesk/portal/probe.py"
    path.write_text(probe)
    try:
        result = subprocess.run(
            [str(RUFF), "check", "--no-cache", "--select", "TID251", str(path)],
            cwd=tree,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        path.unlink()

    assert result.returncode == 1, result.stdout
    assert "TID251" in result.stdout


def test_no_module_calls_the_builtin_import_function() -> None:
    # Ruff's banned-api does not see a bare `__import__(...)`; it would hide an import from
    # the contracts just as well.
    calls = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in sorted((ROOT / "civicdesk").rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "__import__"
    ]

    assert calls == []
