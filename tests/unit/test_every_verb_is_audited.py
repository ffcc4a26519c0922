"""Proof of completeness, from the code's side: every service function that writes reaches
record_event (directly or through another function that does), or is listed here with the
reason it needs no event of its own. The route-side proof is tests/integration/test_audit.py."""

from __future__ import annotations

import ast
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2] / "src" / "tenantry"
WRITES = {"add", "add_all", "delete", "update", "insert"}
# Names too common to follow through the call graph (SQLAlchemy's, the session's, set.add...).
GENERIC = WRITES | {"execute", "get", "scalar", "scalars", "flush", "refresh", "commit", "rollback", "send", "run"}
NEEDS_NO_EVENT = {
    "sync_role_templates": "start-up sync of the role templates from the permissions file, not anyone's change",
    "roles_of_org": "a read (builds its result with set.add and attribute assignments)",
    "groups_of_org": "a read",
    "switcher_entries": "a read",
    "lock_org": "takes a row lock; changes nothing",
    "grant_role": "a step of create_membership and of the role verbs, which record the change",
    "create_user": "a step of sign-up, staff creation, invitations and direct creation, which record it",
    "follow_user_rename": "a step of the profile change, recorded as user.profile_updated",
    "remember_last_org": "the user's last-used org, a preference that changes no one's access",
}


def _functions() -> dict[str, list[set[str]]]:
    """Every function name in the package, with the names each definition calls."""
    found: dict[str, list[set[str]]] = {}
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                calls = {
                    call.func.id if isinstance(call.func, ast.Name) else call.func.attr
                    for call in ast.walk(node)
                    if isinstance(call, ast.Call) and isinstance(call.func, ast.Name | ast.Attribute)
                }
                found.setdefault(node.name, []).append(calls)
    return found


def _reaching_record_event(functions: dict[str, list[set[str]]]) -> set[str]:
    reaching = {"record_event"}
    grew = True
    while grew:
        grew = False
        for name, definitions in functions.items():
            if name not in reaching and name not in GENERIC and any(calls & reaching for calls in definitions):
                reaching.add(name)
                grew = True
    return reaching


def test_every_service_function_that_writes_records_an_event():
    reaching = _reaching_record_event(_functions())
    silent, checked = [], 0
    for path in sorted(SOURCE.rglob("*.py")):
        if path.name not in ("services.py", "lifecycle.py"):
            continue
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.AsyncFunctionDef) or node.name.startswith("_"):
                continue
            calls = {
                call.func.id if isinstance(call.func, ast.Name) else call.func.attr
                for call in ast.walk(node)
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Name | ast.Attribute)
            }
            assigns = any(
                isinstance(target, ast.Attribute)
                for statement in ast.walk(node)
                if isinstance(statement, ast.Assign)
                for target in statement.targets
            )
            if not (calls & WRITES or assigns):
                continue
            checked += 1
            if node.name not in reaching and node.name not in NEEDS_NO_EVENT:
                silent.append(f"{path.relative_to(SOURCE)}: {node.name}")
    assert not silent, "these write without an audit event (record one, or say why here): " + ", ".join(silent)
    assert checked >= 40


def test_the_exceptions_are_still_real():
    functions = _functions()
    assert set(NEEDS_NO_EVENT) <= set(functions), "an exception names a function that no longer exists"
