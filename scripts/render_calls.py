"""Render `call()`'s typed overloads from the generated operations (run by render_resources).

`monite.call(operation, ...)` runs any generated operation; this writes
`monite_async/resources/_generated/calls.py`, whose four mixins (`Calls`, `SyncCalls`,
`RawCallsBase`, `SyncRawCallsBase`) give the clients and `with_raw_response` one overload
per operation and form, so a type checker knows what each call returns and checks its
arguments (a misspelt keyword matches no overload).

What a type checker can tell apart, and so what is typed:
- The module (`call(get_mailbox_domains)`): always. A checker sees a module only through
  its members' types, so every generated module has `OPERATION_ID: Final = "<its name>"`
  (openapi/templates/endpoint_module.py.jinja): a literal type no other module has. The
  overload for it is a Protocol with that one member.
- A function (`.asyncio`, `.asyncio_detailed`, `.sync`, `.sync_detailed`): a checker sees
  only its parameters and return type, and a Protocol of that signature also accepts any
  other function it could stand for. So a function form gets an overload only when no
  other operation's function (of any form) could match its Protocol: not when two
  operations take the same parameters and one's answers are typed `Any` (the generator's
  type for an answer with no body, 204), which matches anything. Such a function matches
  no overload: the checker reports the call, and the module form types it.

The checks are deliberately conservative (a parameter list or answer type the renderer
cannot compare counts as a possible match): a function form is left out rather than typed
as another operation's. The arguments are the generated function's own, without `client`;
`x_monite_version` and `x_monite_entity_id` become optional (the client's `api_version=`
and `entity_id=` fill them). The return is the operation's 2xx model (a union if it
declares several; None for no body): what `call` returns, since any other status raises.
"""

from __future__ import annotations

import ast
import dataclasses
import textwrap
from pathlib import Path
from typing import Any

ASYNC_FORMS = ("asyncio", "asyncio_detailed")
SYNC_FORMS = ("sync", "sync_detailed")
CLIENT_FILLED = ("x_monite_version", "x_monite_entity_id")
RESERVED = frozenset({"self", "operation"})
BUILTIN_NAMES = frozenset({"str", "int", "float", "bool", "bytes", "list", "dict", "object"})


class CallsError(Exception):
    """The generated code has something the call renderer has no rule for."""


@dataclasses.dataclass(frozen=True)
class Arg:
    name: str
    positional: bool  # a path parameter (positional or keyword); else keyword-only
    annotation: str  # as the generated code writes it
    has_default: bool


@dataclasses.dataclass(frozen=True)
class Form:
    operation_id: str
    name: str  # asyncio, asyncio_detailed, sync, sync_detailed
    is_async: bool
    detailed: bool
    args: tuple[Arg, ...]
    returns: str  # the return annotation with `Any` written `object`
    members: frozenset[str]  # the members of the answer union (inside Response[...] if detailed)

    def accepted(self) -> set[tuple[str, bool]]:
        return {(a.name, a.positional) for a in self.args}

    def required(self) -> set[tuple[str, bool]]:
        return {(a.name, a.positional) for a in self.args if not a.has_default}


@dataclasses.dataclass
class Operation:
    operation_id: str
    module: str  # monite_generated.api.<tag>.<operation_id>
    forms: dict[str, Form]
    success: list[str]  # the 2xx answers' types, from the spec

    @property
    def title(self) -> str:
        return "".join(part.title() for part in self.operation_id.split("_"))


def _members(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _members(node.left) + _members(node.right)
    return [node]


class _AnyAsObject(ast.NodeTransformer):
    # `Any` may not appear in a public signature; in a Protocol's return `object` accepts the same.
    def visit_Name(self, node: ast.Name) -> ast.Name:
        return ast.Name("object", ast.Load()) if node.id == "Any" else node


def _imports_of(tree: ast.Module, module: str) -> dict[str, str]:
    """Name -> the import line that binds it, with relative imports made absolute."""
    package = module.split(".")
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level] if node.level else []
            source = ".".join([*base, *([node.module] if node.module else [])])
            if source.startswith("monite_generated.models."):
                source = "monite_generated.models"  # one spelling for a model, whichever module names it
            for alias in node.names:
                found[alias.asname or alias.name] = f"from {source} import {alias.name}" + (
                    f" as {alias.asname}" if alias.asname else ""
                )
        elif isinstance(node, ast.Import):
            for alias in node.names:
                found[alias.asname or alias.name] = f"import {alias.name}" + (
                    f" as {alias.asname}" if alias.asname else ""
                )
    return found


def read_operation(path: Path, module: str, success: list[str], imports: dict[str, str]) -> Operation:
    """The generated module's function forms; the names their annotations use go into `imports`."""
    tree = ast.parse(path.read_text())
    operation_id = module.rpartition(".")[2]
    marker = [
        n.value.value
        for n in tree.body
        if isinstance(n, ast.AnnAssign)
        and isinstance(n.target, ast.Name)
        and n.target.id == "OPERATION_ID"
        and isinstance(n.value, ast.Constant)
    ]
    if marker != [operation_id]:
        raise CallsError(
            f"{module} has no `OPERATION_ID: Final = {operation_id!r}` "
            "(openapi/templates/endpoint_module.py.jinja writes it): regenerate"
        )
    bound = _imports_of(tree, module)
    forms: dict[str, Form] = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or node.name not in (
            ASYNC_FORMS + SYNC_FORMS
        ):
            continue
        if node.args.vararg or node.args.kwarg or node.args.posonlyargs or node.returns is None:
            raise CallsError(f"{module}.{node.name}: no rule for its signature")
        positional = node.args.args
        defaults = [False] * (len(positional) - len(node.args.defaults)) + [True] * len(node.args.defaults)
        args = [
            Arg(a.arg, True, ast.unparse(a.annotation), d)
            for a, d in zip(positional, defaults, strict=True)
            if a.annotation is not None
        ]
        args += [
            Arg(a.arg, False, ast.unparse(a.annotation), d is not None)
            for a, d in zip(node.args.kwonlyargs, node.args.kw_defaults, strict=True)
            if a.annotation is not None
        ]
        if len(args) != len(positional) + len(node.args.kwonlyargs):
            raise CallsError(f"{module}.{node.name}: a parameter has no annotation")
        for a in args:
            if a.name in RESERVED:
                raise CallsError(f"{module}: a parameter named {a.name!r} would clash with call()'s own")
        annotations = [*(a.annotation for a in node.args.args + node.args.kwonlyargs), node.returns]
        for annotation in annotations:
            for name in (n.id for n in ast.walk(annotation) if isinstance(n, ast.Name)):
                if name in ("Any", "None") or name in BUILTIN_NAMES:
                    continue
                line = bound.get(name)
                if line is None:
                    raise CallsError(f"{module}.{node.name}: where does {name!r} come from?")
                if imports.setdefault(name, line) != line:
                    raise CallsError(f"{name!r} is {imports[name]!r} and {line!r}: rename one")
        returns = _AnyAsObject().visit(node.returns)
        detailed = node.name.endswith("_detailed")
        inner = returns
        if detailed:
            if not (isinstance(returns, ast.Subscript) and ast.unparse(returns.value) == "Response"):
                raise CallsError(f"{module}.{node.name} does not return Response[...]")
            inner = returns.slice
        forms[node.name] = Form(
            operation_id=operation_id,
            name=node.name,
            is_async=isinstance(node, ast.AsyncFunctionDef),
            detailed=detailed,
            args=tuple(args),
            returns=ast.unparse(returns),
            members=frozenset(
                "Any" if ast.unparse(m) == "object" else ast.unparse(m) for m in _members(inner)
            ),
        )
    if "asyncio_detailed" not in forms or "sync_detailed" not in forms:
        raise CallsError(f"{module} lacks asyncio_detailed or sync_detailed")
    return Operation(operation_id, module, forms, success)


def may_match(function: Form, protocol: Form, models: set[str]) -> bool:
    """Whether a checker could accept `function` where `protocol`'s signature is expected.
    True whenever the renderer cannot rule it out."""
    if not protocol.accepted() <= function.accepted() or not function.required() <= protocol.required():
        return False  # a call through the protocol passes what the function lacks, or omits what it needs
    if protocol.is_async and not function.is_async:
        # A coroutine is expected; a plain function's answer union always has a non-Any member.
        return function.members <= {"Any"}
    if function.is_async and not protocol.is_async:
        return not protocol.detailed and "Any" in protocol.members
    if protocol.detailed and function.detailed:  # Response is invariant in its parameter
        return "Any" in protocol.members or "Any" in function.members or function.members == protocol.members
    if protocol.detailed:
        return function.members <= {"Any"}
    if function.detailed:
        return "Any" in protocol.members
    if "Any" in protocol.members:
        return True
    # Generated models subclass nothing of each other: a model the protocol does not name
    # cannot stand for one it does. Anything else (a builtin, a list) might.
    return all(m == "Any" or m in protocol.members or m not in models | {"None"} for m in function.members)


def typed_forms(
    operations: list[Operation], forms: tuple[str, ...], models: set[str]
) -> set[tuple[str, str]]:
    """(operation_id, form) of the function forms no other function could be mistaken for."""
    everything = [f for op in operations for f in op.forms.values()]
    kept: set[tuple[str, str]] = set()
    for op in operations:
        for name in forms:
            protocol = op.forms.get(name)
            if protocol is None:
                continue
            rivals = [f for f in everything if f is not protocol and may_match(f, protocol, models)]
            if not rivals:
                kept.add((op.operation_id, name))
    return kept


def _protocols(op: Operation, kept: set[tuple[str, str]]) -> str:
    out = [
        f"\n\nclass _{op.title}(Protocol):\n"
        f'    """The module `{op.module}`."""\n\n'
        f"    @property\n"
        f'    def OPERATION_ID(self) -> Literal["{op.operation_id}"]: ...\n'
    ]
    for name in ASYNC_FORMS + SYNC_FORMS:
        form = op.forms.get(name)
        if form is None or (op.operation_id, name) not in kept:
            continue
        params = ["self"]
        positional = [a for a in form.args if a.positional]
        keyword = [a for a in form.args if not a.positional]
        params += [f"{a.name}: {a.annotation}" + (" = ..." if a.has_default else "") for a in positional]
        if keyword:
            params.append("*")
            params += [f"{a.name}: {a.annotation}" + (" = ..." if a.has_default else "") for a in keyword]
        define = "async def" if form.is_async else "def"
        out.append(
            f"\n\nclass _{op.title}{''.join(p.title() for p in name.split('_'))}(Protocol):\n"
            f'    """`{op.module}.{name}`."""\n\n'
            f"    {define} __call__({', '.join(params)}) -> {form.returns}: ...\n"
        )
    return "".join(out)


def _arguments(op: Operation) -> str:
    """call()'s parameters after the operation: the generated function's, without `client`."""
    form = op.forms["asyncio_detailed"]
    positional, keyword = [], []
    for a in form.args:
        if a.name == "client":
            continue
        if a.name in CLIENT_FILLED:
            keyword.append(f"{a.name}: {a.annotation} | None = None")
        elif a.positional:
            positional.append(f"{a.name}: {a.annotation}" + (" = ..." if a.has_default else ""))
        else:
            keyword.append(f"{a.name}: {a.annotation}" + (" = ..." if a.has_default else ""))
    return ", ".join(
        ["self", "operation: {operation}", "/", *positional, *(["*", *keyword] if keyword else [])]
    )


def _overloads(
    operations: list[Operation], forms: tuple[str, str], kept: set[tuple[str, str]], raw: bool
) -> list[tuple[str, str]]:
    """(parameters, return type) of each overload."""
    plain, detailed = forms
    result = []
    for op in operations:
        answer = " | ".join(op.success)
        accepted = [f"_{op.title}"]
        if (op.operation_id, plain) in kept:
            accepted.append(f"_{op.title}{''.join(p.title() for p in plain.split('_'))}")
        detailed_type = f"_{op.title}{''.join(p.title() for p in detailed.split('_'))}"
        with_detailed = (op.operation_id, detailed) in kept
        if raw and with_detailed:
            accepted.append(detailed_type)
        returns = f"RawResponse[{answer}]" if raw else answer
        result.append((_arguments(op).format(operation=" | ".join(accepted)), returns))
        if with_detailed and not raw:
            result.append((_arguments(op).format(operation=detailed_type), f"Response[{answer}]"))
    if len(result) < 2:
        raise CallsError("call()'s overloads need at least two operations in the fragment")
    return result


CALL_DOC = '''"""Run a generated operation with this client's auth, version, entity, retries and errors.

        Pass the operation's module or its {plain} / {detailed} function, then the
        function's own arguments except `client`: `x_monite_version` is the client's
        `api_version` unless given (a YYYY-MM-DD date, else InvalidRequestError), and
        `x_monite_entity_id` its `entity_id`. Returns the operation's 2xx model (a
        `*_detailed` function: the generated `Response` holding it); any other answer
        raises the typed errors the resource methods raise.

            from monite_generated.api.mailbox_domains import get_mailbox_domains
            listing = {wait}monite.call(get_mailbox_domains)  # -> DomainListResponse

        Typed from the spec (scripts/render_calls.py, docs/regenerating.md): the module
        form always; a function form unless another operation's function has the same
        parameters and could have its answer type (then use the module).
        """'''

RAW_DOC = '''"""As `{client}.call`, returning a `RawResponse` (status, headers, request id,
        attempts, elapsed, rate limit) whose `parse()` is the 2xx model (for a `*_detailed`
        function too)."""'''


def _mixin(name: str, about: str, overloads: list[tuple[str, str]], is_async: bool, doc: str) -> str:
    define = "async def" if is_async else "def"
    run = "Awaitable[object]" if is_async else "object"
    body = "return await self._run_call" if is_async else "return self._run_call"
    lines = [
        f"\n\nclass {name}:\n",
        f'    """{about}"""\n\n',
        f"    _run_call: Callable[[object, tuple[object, ...], dict[str, object]], {run}]\n",
    ]
    for params, returns in overloads:
        lines.append(f"\n    @overload\n    {define} call({params}) -> {returns}: ...\n")
    lines.append(
        f"\n    {define} call(self, operation: object, /, *args: object, **kwargs: object) -> object:\n"
        f"        {doc}\n"
        f"        {body}(operation, args, kwargs)\n"
    )
    return "".join(lines)


def render_calls(operations: list[Operation], imports: dict[str, str], models: set[str], header: str) -> str:
    if not operations:
        raise CallsError("no operations")
    operations = sorted(operations, key=lambda op: op.operation_id)
    async_kept = typed_forms(operations, ASYNC_FORMS, models)
    sync_kept = typed_forms(operations, SYNC_FORMS, models)
    out = [
        header,
        '"""`call()` typed: one overload per generated operation and form (scripts/render_calls.py).\n\n'
        + textwrap.fill("Not typed here: " + _untyped_note(operations, async_kept | sync_kept), 96)
        + '\n"""\n\nfrom __future__ import annotations\n\n',
        "from collections.abc import Awaitable, Callable\n",
        "from typing import Literal, Protocol, overload\n",
        "\n".join(sorted(set(imports.values()))) + "\n",
        "from monite_generated.types import Response\n",
        "from ..raw import RawResponse\n",
        '\n__all__ = ["Calls", "RawCallsBase", "SyncCalls", "SyncRawCallsBase"]\n',
    ]
    out += [_protocols(op, async_kept | sync_kept) for op in operations]
    out.append(
        _mixin(
            "Calls",
            "`MoniteClient.call`: typed per operation.",
            _overloads(operations, ASYNC_FORMS, async_kept, raw=False),
            True,
            CALL_DOC.format(plain="`asyncio`", detailed="`asyncio_detailed`", wait="await "),
        )
    )
    out.append(
        _mixin(
            "SyncCalls",
            "`MoniteSyncClient.call`: typed per operation.",
            _overloads(operations, SYNC_FORMS, sync_kept, raw=False),
            False,
            CALL_DOC.format(plain="`sync`", detailed="`sync_detailed`", wait=""),
        )
    )
    out.append(
        _mixin(
            "RawCallsBase",
            "`monite.with_raw_response.call`: typed per operation.",
            _overloads(operations, ASYNC_FORMS, async_kept, raw=True),
            True,
            RAW_DOC.format(client="MoniteClient"),
        )
    )
    out.append(
        _mixin(
            "SyncRawCallsBase",
            "`MoniteSyncClient.with_raw_response.call`: typed per operation.",
            _overloads(operations, SYNC_FORMS, sync_kept, raw=True),
            False,
            RAW_DOC.format(client="MoniteSyncClient"),
        )
    )
    return "".join(out)


def _untyped_note(operations: list[Operation], kept: set[tuple[str, str]]) -> str:
    left = sorted(
        f"{op.operation_id}.{name}"
        for op in operations
        for name in op.forms
        if (op.operation_id, name) not in kept
    )
    if not left:
        return "nothing: every operation's module and functions have an overload."
    return (
        "these functions have the parameters of another operation's, and an answer type that "
        "could be its (`Any`, the generator's type for a 204), so a checker could not tell "
        "them apart (their modules are typed): " + ", ".join(left) + "."
    )


def success_types(operation: dict[str, Any], model: Any) -> list[str]:
    """The 2xx answers' types: the model of each JSON body (`model(schema_name)`), None for no body."""
    found: list[str] = []
    for code in sorted(str(c) for c in operation["responses"]):
        if not code.startswith("2"):
            continue
        answer = operation["responses"].get(code) or operation["responses"][int(code)]
        schema = (answer.get("content") or {}).get("application/json", {}).get("schema")
        if schema is None:
            kind = "None"
        elif "$ref" in schema:
            kind = model(schema["$ref"].rpartition("/")[2])
        else:
            raise CallsError(f"{operation['operationId']}: a {code} answer that is not a schema reference")
        if kind not in found:
            found.append(kind)
    if not found:
        raise CallsError(f"{operation['operationId']} declares no 2xx answer")
    return found
