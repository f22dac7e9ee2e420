"""The shape of the code (docs/architecture.md "Layout"; issue 7), read from the source by ``ast``.

- No import cycle between packages: the graph has one node per package (``idp.ecards``,
  ``idp.oauth``, ``channels``, ``keys``, ...) and an edge for every import, at module level or
  inside a function. The wiring root (``idp.app``, ``idp.provider``, ``idp.wsgi``) may import
  everything; nothing under a domain package imports ``idp.app`` or ``idp.cli``.
- Protocol code (``idp/oauth/``, ``idp/oidc/``, ``channels/``, ``keys/``) imports no Flask, Werkzeug
  or SQLAlchemy, so it can be tested without a web app or a database.
- The top of ``idp/`` holds only the app factory, the provider, errors, settings and the WSGI entry.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("idp", "channels", "keys")
WIRING = {"idp.app", "idp.provider", "idp.wsgi", "idp"}
TOP_OF_IDP = {"__init__.py", "app.py", "provider.py", "errors.py", "settings.py", "wsgi.py"}
PROTOCOL = ("idp.oauth", "idp.oidc", "channels", "keys")
FRAMEWORKS = ("flask", "werkzeug", "sqlalchemy")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield module_name(path), path


def imported(path: Path, module: str) -> Iterator[str]:
    """Every module an ``import`` or ``from ... import`` statement names, anywhere in the file."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            yield target
            yield from (f"{target}.{alias.name}" for alias in node.names)


def package_of(module: str) -> str:
    """The node a module belongs to: ``idp.ecards.views`` -> ``idp.ecards``, ``keys.ring`` ->
    ``keys``; a top-level module of ``idp`` is its own node (``idp.errors``)."""
    parts = module.split(".")
    if parts[0] != "idp":
        return parts[0]
    return ".".join(parts[:2]) if len(parts) > 1 else "idp"


def ours(module: str) -> bool:
    return module.split(".")[0] in PACKAGES


def graph() -> dict[str, set[str]]:
    known = {name for name, _ in sources()}
    edges: dict[str, set[str]] = {}
    for name, path in sources():
        here = package_of(name)
        for target in imported(path, name):
            if not ours(target) or (target not in known and target.rsplit(".", 1)[0] not in known):
                continue  # an imported name, not a module: its module was yielded too
            there = package_of(target)
            if there != here:
                edges.setdefault(here, set()).add(there)
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """A cycle in the graph (depth-first search with colours), or None."""
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_between_packages() -> None:
    edges = {node: targets - WIRING for node, targets in graph().items() if node not in WIRING}
    cycle = find_cycle(edges)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_domain_packages_do_not_import_the_wiring_root() -> None:
    offenders = [
        f"{name} imports {target}"
        for name, path in sources()
        if package_of(name) not in WIRING and not name.startswith("idp.cli")
        for target in imported(path, name)
        if target in {"idp.app", "idp.cli"} or target.startswith(("idp.app.", "idp.cli."))
    ]
    assert offenders == []


def test_protocol_code_imports_no_web_framework_and_no_orm() -> None:
    offenders = [
        f"{name} imports {target}"
        for name, path in sources()
        if name == PROTOCOL[0] or (name.startswith(PROTOCOL) and package_of(name) in PROTOCOL)
        for target in imported(path, name)
        if target.split(".")[0] in FRAMEWORKS
    ]
    assert offenders == []


def test_top_of_idp_holds_only_the_wiring() -> None:
    top = {path.name for path in (ROOT / "idp").glob("*.py")}
    assert top == TOP_OF_IDP


def test_the_checks_can_fail() -> None:
    """The cycle finder and the framework check see what they must (so the tests above can fail)."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}}) is None
    assert package_of("idp.ecards.views") == "idp.ecards"
    assert package_of("keys.ring") == "keys"
    assert package_of("idp.errors") == "idp.errors"
    # the protocol core really is under the check: its modules are found and parsed
    checked = [name for name, _ in sources() if name.startswith(PROTOCOL)]
    assert {"idp.oauth.tokens", "idp.oidc.id_token", "channels.registry", "keys.ring"} <= set(
        checked
    )
