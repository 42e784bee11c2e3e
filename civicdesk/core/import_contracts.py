"""Import contracts that the built-in import-linter types cannot express.

`public_seams`: an app may import another app only through its public modules (`services`,
`selectors`, `events`, and a few named seams such as `channels.contracts`). Models and other
internals of another app are reachable only under `if TYPE_CHECKING:` (run with
`exclude_type_checking_imports = true`). Importing another app's package itself is an
import of its internals. Tests are exempt: they drive journeys across apps.
"""

from __future__ import annotations

from typing import Any

import grimp
from importlinter import Contract, ContractCheck, fields, output


def _app(module: str, root: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == root else ""


def _is_test(module: str) -> bool:
    """A test module: in a `tests` package, or itself named `test_*` (by whole path parts, so
    production modules named `testsupport` or `tests_helpers` are not exempt)."""
    parts = module.split(".")
    return "tests" in parts or parts[-1].startswith("test_")


class PublicSeamsContract(Contract):
    """Apps reach each other only through their public modules.

    Options: `root` (the package holding the apps), `public` (module names public in every
    app, e.g. services, selectors, events), `also_public` (further modules, e.g.
    civicdesk.channels.contracts), `open_apps` (apps anyone may import whole: the kernel).
    """

    type_name = "public_seams"

    root = fields.StringField()
    public = fields.ListField(subfield=fields.StringField())
    also_public = fields.ListField(subfield=fields.StringField(), required=False)
    open_apps = fields.ListField(subfield=fields.StringField(), required=False)
    # Debt recorded when the contract arrived, each "importer -> imported"; remove as fixed.
    known_violations = fields.ListField(subfield=fields.StringField(), required=False)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        options: Any = self  # the fields hold plain values once the contract is built
        root = str(options.root)
        public = {str(name) for name in options.public}
        also = {str(name) for name in options.also_public or []}
        open_apps = {str(name) for name in options.open_apps or []}
        known = {str(v) for v in options.known_violations or []}
        violations: list[dict[str, Any]] = []
        seen_known: set[str] = set()
        for importer in sorted(graph.find_descendants(root)):
            source_app = _app(importer, root)
            if not source_app or _is_test(importer):
                continue
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                target_app = _app(imported, root)
                if not target_app or target_app in (source_app, *open_apps):
                    continue
                rest = imported.split(".")[2:]
                if imported in also or any(imported.startswith(f"{name}.") for name in also):
                    continue
                # The package itself (`import civicdesk.cases`) reaches everything it holds.
                if rest and rest[0] in public:
                    continue
                if f"{importer} -> {imported}" in known:
                    seen_known.add(f"{importer} -> {imported}")
                    continue
                details = graph.get_import_details(importer=importer, imported=imported)
                lines = [d["line_number"] for d in details]
                violations.append({"importer": importer, "imported": imported, "lines": lines})
        # A recorded debt that was paid must leave the list, so that it only ever shrinks.
        stale = sorted(known - seen_known)
        return ContractCheck(
            kept=not violations and not stale,
            metadata={"violations": violations, "stale": stale},
        )

    def render_broken_contract(self, check: ContractCheck) -> None:
        for violation in check.metadata["violations"]:
            lines = ", ".join(f"l.{n}" for n in violation["lines"])
            output.print_error(
                f"{violation['importer']} -> {violation['imported']} ({lines})", bold=False
            )
            output.new_line()
        for entry in check.metadata.get("stale", []):
            output.print_error(f"{entry}: no longer imported; remove it from known_violations")
            output.new_line()
