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
    "lock_user": "takes a row lock while a person's orgs are counted; changes nothing",
    "grant_role": "a step of create_membership and of the role verbs, which record the change",
    "create_user": "a step of sign-up, staff creation, invitations and direct creation, which record it",
    "follow_user_rename": "a step of the profile change, recorded as user.profile_updated",
    "remember_last_org": "the user's last-used org, a preference that changes no one's access",
    "note_activity": "the org's last-activity time, a usage statistic that changes no one's access",
    "hit": "a rate-limit counter, not anyone's data",
    "_attach_roles_and_groups": "a read (fills in the rows it returns)",
    "attach_roles": "a read (fills in the rows it is given)",
}


def _calls(node: ast.AST) -> set[str]:
    return {
        call.func.id if isinstance(call.func, ast.Name) else call.func.attr
        for call in ast.walk(node)
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name | ast.Attribute)
    }


def _writes_itself(node: ast.AST) -> bool:
    """Adds, deletes or updates rows, or sets an attribute (of a loaded row, as a rule)."""
    assigns = any(
        isinstance(target, ast.Attribute)
        for statement in ast.walk(node)
        if isinstance(statement, ast.Assign)
        for target in statement.targets
    )
    return bool(_calls(node) & WRITES) or assigns


def _functions() -> dict[str, list[ast.AST]]:
    """Every function definition in the package, by name."""
    found: dict[str, list[ast.AST]] = {}
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found.setdefault(node.name, []).append(node)
    return found


def _closure(functions: dict[str, list[ast.AST]], start: set[str], *, skip: set[str]) -> set[str]:
    """`start`, and every function that calls one of them, through names that aren't generic."""
    reached = set(start)
    grew = True
    while grew:
        grew = False
        for name, definitions in functions.items():
            if name in reached or name in GENERIC or name in skip:
                continue
            if any(_calls(node) & reached for node in definitions):
                reached.add(name)
                grew = True
    return reached


def _reaching_record_event(functions: dict[str, list[ast.AST]]) -> set[str]:
    return _closure(functions, {"record_event"}, skip=set())


def _writers(functions: dict[str, list[ast.AST]]) -> set[str]:
    """Functions that write, themselves or through a helper (the exceptions below don't count)."""
    direct = {
        name
        for name, definitions in functions.items()
        if name not in NEEDS_NO_EVENT and any(_writes_itself(node) for node in definitions)
    }
    return _closure(functions, direct, skip=set(NEEDS_NO_EVENT))


def test_every_service_function_that_writes_records_an_event():
    functions = _functions()
    reaching, writers = _reaching_record_event(functions), _writers(functions)
    silent, checked = [], 0
    for path in sorted(SOURCE.rglob("*.py")):
        if path.name not in ("services.py", "lifecycle.py", "console.py"):
            continue
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.AsyncFunctionDef) or node.name.startswith("_"):
                continue
            if not (_writes_itself(node) or node.name in writers):
                continue
            checked += 1
            if node.name not in reaching and node.name not in NEEDS_NO_EVENT:
                silent.append(f"{path.relative_to(SOURCE)}: {node.name}")
    assert not silent, "these write without an audit event (record one, or say why here): " + ", ".join(silent)
    assert checked >= 40


def test_the_exceptions_are_still_real():
    functions = _functions()
    assert set(NEEDS_NO_EVENT) <= set(functions), "an exception names a function that no longer exists"
