"""Rebuild openapi/mailbox_domains.yaml from Monite's published OpenAPI document.

    python scripts/sync_spec.py                              # from the URL in openapi/upstream.yaml
    python scripts/sync_spec.py --upstream FILE_OR_URL       # a .json/.yaml file or an http(s) URL
    python scripts/sync_spec.py --add get_mailboxes,...      # also wrap these upstream operations
    python scripts/sync_spec.py --check                      # write nothing; exit 1 if upstream moved
    python scripts/sync_spec.py --lint-descriptions          # every operation and schema described?

What is taken from upstream (the facts): the operations the fragment already wraps (its
operationIds are the list) plus those named in --add, with their paths, methods,
parameters, request bodies, responses and security; the transitive closure of the
components they reference; the security schemes they use; the servers; `openapi` and
`info.version`.

What is ours (the prose): titles, summaries, descriptions and examples. They are carried
over from the current fragment element by element (operation, parameter, schema, property,
response, media type, header, server, tag); upstream's prose is never copied. An element
new upstream arrives without any, and the sync lists the ones a person should describe.

The deviations from upstream (openapi/DEVIATIONS.md) are applied as code: each row of the
table has a transform in TRANSFORMS, and the sync refuses to run when the two disagree.

The output is deterministic: key order follows the current fragment (new keys go after
their upstream neighbour; paths, schemas and status codes sorted), fixed YAML formatting,
no anchors. Running it twice writes the same bytes.

Exit codes: 0 done (or, with --check, nothing to change); 1 with --check, the fragment is
not what the sync writes (the spec diff is printed), or with --lint-descriptions, elements
lack a description; 2 an unusable argument, document or DEVIATIONS.md table.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
FRAGMENT = ROOT / "openapi" / "mailbox_domains.yaml"
DEVIATIONS = ROOT / "openapi" / "DEVIATIONS.md"
CONFIG = ROOT / "openapi" / "upstream.yaml"

HEADER = """\
# Monite mailbox domains: the contract monite_async is generated from.
# Written by `make sync-spec` (scripts/sync_spec.py) from Monite's published spec: facts
# (paths, operationIds, parameters, schemas, status codes) are upstream's; descriptions and
# examples are ours and are kept by the sync. Edit prose here; DEVIATIONS.md lists every
# deliberate difference in fact, each applied by a transform of the sync.
"""

PROSE = ("title", "summary", "description", "example", "examples")
# Keys whose dict values map names to elements (not element keywords themselves).
NAME_MAPS = frozenset(
    {
        "properties",
        "patternProperties",
        "$defs",
        "definitions",
        "dependentSchemas",
        "responses",
        "headers",
        "content",
        "encoding",
        "links",
        "callbacks",
        "variables",
        "schemas",
        "parameters",
        "requestBodies",
        "securitySchemes",
    }
)
# Values copied as they are: data, not elements.
OPAQUE = frozenset({"enum", "const", "default", "required", "security", "mapping", "scopes"})
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Which kinds of element, new upstream, a person should describe.
DESCRIBED_KINDS = ("tag", "operation", "parameter", "response", "schema", "property")
MAX_DOWNLOAD = 64 * 1024 * 1024
VERSION_HEADER = "x-monite-version"
VERSION_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
DEVELOPMENT_SERVER = "https://api.dev.monite.com/v1"
TOO_MANY_REQUESTS = "TooManyRequests"


class SyncError(Exception):
    """An argument, a document or the deviations table is unusable."""


def _load_sibling(name: str) -> ModuleType:
    """`scripts/<name>.py` as a module (scripts are commands, not a package)."""
    path = Path(__file__).resolve().parent / f"{name}.py"
    loaded = sys.modules.get(name)
    if loaded is not None and getattr(loaded, "__file__", None) == str(path):
        return loaded
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before it runs: its dataclasses look it up
    spec.loader.exec_module(module)
    return module


spec_diff = _load_sibling("spec_diff")


# --- the deviations, as code ------------------------------------------------------------


def _operations(doc: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            if isinstance(item, dict) and isinstance(item.get(method), dict):
                yield path, method, item[method]


def version_header(doc: dict[str, Any]) -> None:
    """`x-monite-version`: a string with a YYYY-MM-DD pattern instead of `format: date`."""
    for _, _, operation in _operations(doc):
        for parameter in operation.get("parameters", []):
            if parameter.get("name") == VERSION_HEADER and parameter.get("in") == "header":
                schema = parameter.get("schema", {})
                if schema.get("format") == "date":
                    parameter["schema"] = {"type": "string", "pattern": VERSION_PATTERN}


def rate_limit_response(doc: dict[str, Any]) -> None:
    """429 on every operation, defined once as components/responses/TooManyRequests."""
    for _, _, operation in _operations(doc):
        operation.setdefault("responses", {}).setdefault(
            "429", {"$ref": f"#/components/responses/{TOO_MANY_REQUESTS}"}
        )
    integer = {"type": "integer"}
    doc.setdefault("components", {}).setdefault("responses", {})[TOO_MANY_REQUESTS] = {
        "headers": {
            "Retry-After": {"schema": {"type": "integer", "minimum": 0}},
            "RateLimit-Limit": {"schema": dict(integer)},
            "RateLimit-Remaining": {"schema": dict(integer)},
            "RateLimit-Reset": {"schema": dict(integer)},
        },
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorSchemaResponse"}}},
    }


def servers(doc: dict[str, Any]) -> None:
    """The Monite-internal development server is dropped."""
    doc["servers"] = [s for s in doc.get("servers", []) if s.get("url") != DEVELOPMENT_SERVER]


# One transform per row of openapi/DEVIATIONS.md, keyed by the row's `kind`.
TRANSFORMS: dict[str, Callable[[dict[str, Any]], None]] = {
    "version-header": version_header,
    "rate-limit-response": rate_limit_response,
    "servers": servers,
}


def deviation_kinds(markdown: str) -> list[str]:
    """The `kind` column of the first table in DEVIATIONS.md, in order."""
    rows = [line for line in markdown.splitlines() if line.lstrip().startswith("|")]
    if not rows:
        return []
    header = [cell.strip().lower() for cell in rows[0].strip().strip("|").split("|")]
    if "kind" not in header:
        return []
    column = header.index("kind")
    return [row.strip().strip("|").split("|")[column].strip().strip("`") for row in rows[2:]]


def check_deviations(markdown: str) -> None:
    kinds = deviation_kinds(markdown)
    rows_without, transforms_without = set(kinds) - set(TRANSFORMS), set(TRANSFORMS) - set(kinds)
    if rows_without or transforms_without:
        raise SyncError(
            "openapi/DEVIATIONS.md and the sync's transforms disagree: "
            f"rows without a transform {sorted(rows_without)}, transforms without a row "
            f"{sorted(transforms_without)}"
        )


# --- reading ------------------------------------------------------------------------------


def default_upstream() -> str:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    return str(config["url"])


def load_upstream(source: str) -> dict[str, Any]:
    """An OpenAPI document from a file or an http(s) URL."""
    if not source.startswith(("http://", "https://")):
        try:
            document: dict[str, Any] = spec_diff.load_document(source)
        except spec_diff.SpecError as exc:
            raise SyncError(str(exc)) from None
        return document
    request = urllib.request.Request(source, headers={"Accept": "application/json, application/yaml"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
            body = answer.read(MAX_DOWNLOAD + 1)
            kind = answer.headers.get("Content-Type", "")
    except (urllib.error.URLError, OSError) as exc:
        raise SyncError(f"{source}: cannot fetch: {exc}") from None
    if len(body) > MAX_DOWNLOAD:
        raise SyncError(f"{source}: larger than {MAX_DOWNLOAD} bytes")
    text = body.decode("utf-8")
    looks_json = "json" in kind or source.endswith(".json") or text.lstrip().startswith("{")
    try:
        parsed: dict[str, Any] = spec_diff.parse_document(
            text, name="upstream.json" if looks_json else "upstream.yaml"
        )
    except spec_diff.SpecError as exc:
        raise SyncError(f"{source}: {exc}") from None
    return parsed


# --- building -------------------------------------------------------------------------------


@dataclass
class Result:
    document: dict[str, Any]
    needs_description: list[str] = field(default_factory=list)
    removed_upstream: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def _strip_prose(node: Any, *, names: bool = False) -> Any:
    """A copy of upstream's node with its prose removed (never from a map of names)."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if not names and key in PROSE:
                continue
            if not names and key in OPAQUE:
                out[key] = copy.deepcopy(value)
            else:
                out[key] = _strip_prose(value, names=not names and key in NAME_MAPS)
        return out
    if isinstance(node, list):
        return [_strip_prose(value) for value in node]
    return node


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _order(keys: Iterable[str], ours: Iterable[str]) -> list[str]:
    """`keys` in our order; a key we lack goes right after its upstream predecessor."""
    keys = list(keys)
    present = set(keys)
    result = [k for k in ours if k in present]
    placed = set(result)
    for i, key in enumerate(keys):
        if key in placed:
            continue
        previous = next((p for p in reversed(keys[:i]) if p in placed), None)
        result.insert(result.index(previous) + 1 if previous is not None else 0, key)
        placed.add(key)
    return result


def _status_key(code: str) -> tuple[int, str]:
    return (int(code), code) if code.isdigit() else (1000, code)


class Merger:
    """Carries our prose onto upstream's facts, element by element, and notes new elements."""

    def __init__(self, fragment: Mapping[str, Any]) -> None:
        self.fragment = fragment
        self.needs: list[str] = []
        self.counts: dict[str, int] = {}
        # The version header is one element shared by every operation (DEVIATIONS.md row
        # `version-header`): an operation new to the fragment gets the same words.
        self.version_header = next(
            (
                p
                for _, _, op in _operations(fragment)
                for p in op.get("parameters", [])
                if isinstance(p, dict) and p.get("name") == VERSION_HEADER and p.get("in") == "header"
            ),
            None,
        )

    def element(self, facts: Any, ours: Any, where: str, kind: str | None = None) -> Any:
        if isinstance(facts, list):
            return self.sequence(facts, ours, where)
        if not isinstance(facts, dict):
            return facts
        if kind:
            self.counts[kind] = self.counts.get(kind, 0) + 1
        if kind == "parameter" and ours is None and facts.get("name") == VERSION_HEADER:
            ours = self.version_header
        ours_map = ours if isinstance(ours, dict) else {}
        out: dict[str, Any] = {}
        new_undescribed = (
            kind in DESCRIBED_KINDS and ours is None and "$ref" not in facts and "description" not in facts
        )
        if new_undescribed:
            self.needs.append(f"{kind} {where}")
            if kind == "response":
                out["description"] = ""  # OpenAPI requires one: a person writes it
        for key, value in facts.items():
            if key in PROSE:  # prose put there by a transform: ours wins when we have any
                continue
            if key in OPAQUE:
                out[key] = copy.deepcopy(value)
            elif key in NAME_MAPS and isinstance(value, dict):
                out[key] = self.names(key, value, ours_map.get(key), f"{where}/{key}")
            else:
                out[key] = self.element(value, ours_map.get(key), f"{where}/{key}")
        prose_from = ours_map if ours is not None else facts
        for key in PROSE:
            if key in prose_from:
                out[key] = copy.deepcopy(prose_from[key])
        return {k: out[k] for k in _order(out, ours_map) if k in out}

    def names(self, key: str, facts: dict[str, Any], ours: Any, where: str) -> dict[str, Any]:
        ours_map = ours if isinstance(ours, dict) else {}
        kind = {"properties": "property", "responses": "response", "schemas": "schema"}.get(key)
        if key == "responses":
            order = sorted(facts, key=_status_key)
        elif key == "schemas":
            order = sorted(facts)
        else:
            order = _order(facts, ours_map)
        return {
            name: self.element(facts[name], ours_map.get(name), f"{where}/{name}", kind) for name in order
        }

    def sequence(self, facts: list[Any], ours: Any, where: str) -> list[Any]:
        ours_list = ours if isinstance(ours, list) else []
        if where.endswith("/parameters"):
            by_key = {
                (p.get("name"), p.get("in")): p for p in ours_list if isinstance(p, dict) and "name" in p
            }
            return [
                self.element(
                    p,
                    by_key.get((p.get("name"), p.get("in"))),
                    f"{where}/{p.get('in')}:{p.get('name')}",
                    "parameter",
                )
                if isinstance(p, dict)
                else p
                for p in facts
            ]
        return [
            self.element(value, ours_list[i] if i < len(ours_list) else None, f"{where}[{i}]")
            for i, value in enumerate(facts)
        ]


def _operation_ids(doc: Mapping[str, Any]) -> list[str]:
    return [str(op["operationId"]) for _, _, op in _operations(doc) if "operationId" in op]


def extract(
    upstream: Mapping[str, Any], operation_ids: list[str], *, keep_prose: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """Upstream's facts for these operations, without prose; and the ids upstream no longer has."""
    strip = copy.deepcopy if keep_prose else _strip_prose
    index = {str(op["operationId"]): (path, method) for path, method, op in _operations(upstream)}
    missing = [i for i in operation_ids if i not in index]
    paths: dict[str, dict[str, Any]] = {}
    for operation_id in operation_ids:
        if operation_id in missing:
            continue
        path, method = index[operation_id]
        item = upstream["paths"][path]
        target = paths.setdefault(path, {})
        if "parameters" in item:  # path-level parameters belong to every method of the path
            target["parameters"] = strip(item["parameters"])
        target[method] = strip(item[method])
    for path, item in paths.items():  # methods in upstream's order
        paths[path] = {k: item[k] for k in upstream["paths"][path] if k in item}

    components: dict[str, dict[str, Any]] = {}
    upstream_components = upstream.get("components", {})
    pending = list(_refs(paths))
    while pending:
        ref = pending.pop()
        match = re.fullmatch(r"#/components/([^/]+)/([^/]+)", ref)
        if not match:
            continue
        section, name = match.groups()
        if name in components.get(section, {}):
            continue
        try:
            target = upstream_components[section][name]
        except KeyError:
            raise SyncError(f"upstream's {ref} is referenced but not defined") from None
        components.setdefault(section, {})[name] = strip(target)
        pending.extend(_refs(target))

    schemes: set[str] = set()
    for item in paths.values():
        for operation in item.values():
            if isinstance(operation, dict):
                for requirement in operation.get("security", []):
                    schemes.update(requirement)
    for requirement in upstream.get("security", []):
        schemes.update(requirement)
    for name in sorted(schemes):
        scheme = upstream_components.get("securitySchemes", {}).get(name)
        if scheme is None:
            raise SyncError(f"security scheme {name!r} is used but upstream does not define it")
        components.setdefault("securitySchemes", {})[name] = strip(scheme)

    used_tags = [
        t
        for item in paths.values()
        for op in item.values()
        if isinstance(op, dict)
        for t in op.get("tags", [])
    ]
    listed = [t["name"] for t in upstream.get("tags", []) if isinstance(t, dict) and "name" in t]
    tags = [t for t in listed if t in used_tags] + sorted({t for t in used_tags if t not in listed})

    facts: dict[str, Any] = {
        "openapi": upstream["openapi"],
        "info": {"version": upstream["info"]["version"]},
        "servers": strip(upstream.get("servers", [])),
    }
    if "security" in upstream:
        facts["security"] = copy.deepcopy(upstream["security"])
    facts["tags"] = [{"name": t} for t in tags]
    facts["paths"] = {p: paths[p] for p in sorted(paths)}
    sections = ("schemas", "responses", "parameters", "requestBodies", "headers", "securitySchemes")
    order = [s for s in sections if s in components] + sorted(set(components) - set(sections))
    facts["components"] = {s: components[s] for s in order}
    return facts, missing


def cut(upstream: Mapping[str, Any], operation_ids: list[str]) -> dict[str, Any]:
    """Upstream's own text of these operations and what they reference, unchanged.

    The shape of openapi/reference/mailbox_domains.upstream.json, which
    tests/project/test_fragment_vs_upstream.py compares the fragment with; the upstream workflow
    writes it from the document it fetched.
    """
    facts, _ = extract(upstream, operation_ids, keep_prose=True)
    upstream_components = upstream.get("components", {})
    components = {
        section: {n: facts["components"][section][n] for n in upstream_components[section] if n in names}
        for section in upstream_components
        if (names := facts["components"].get(section))
    }
    document: dict[str, Any] = {"openapi": upstream["openapi"], "info": copy.deepcopy(upstream["info"])}
    for key in ("servers", "security"):
        if key in upstream:
            document[key] = copy.deepcopy(upstream[key])
    document["paths"] = {p: facts["paths"][p] for p in upstream["paths"] if p in facts["paths"]}
    document["components"] = components
    used = {t["name"] for t in facts["tags"]}
    document["tags"] = [copy.deepcopy(t) for t in upstream.get("tags", []) if t.get("name") in used]
    return document


def sync(upstream: Mapping[str, Any], fragment: Mapping[str, Any], add: Iterable[str] = ()) -> Result:
    wanted = _operation_ids(fragment)
    upstream_ids = set(_operation_ids(upstream))
    for operation_id in add:
        if operation_id not in upstream_ids:
            raise SyncError(f"ADD: upstream has no operation {operation_id!r}")
        if operation_id not in wanted:
            wanted.append(operation_id)
    facts, missing = extract(upstream, wanted)
    for transform in TRANSFORMS.values():
        transform(facts)

    merger = Merger(fragment)
    out: dict[str, Any] = {"openapi": facts["openapi"]}
    info = merger.element(facts["info"], fragment.get("info"), "info")
    info.setdefault("title", "Monite mailbox domains")
    out["info"] = info
    our_servers = {s.get("url"): s for s in fragment.get("servers", []) if isinstance(s, dict)}
    out["servers"] = [merger.element(s, our_servers.get(s.get("url")), "servers") for s in facts["servers"]]
    if "security" in facts:
        out["security"] = facts["security"]
    our_tags = {t.get("name"): t for t in fragment.get("tags", []) if isinstance(t, dict)}
    out["tags"] = [merger.element(t, our_tags.get(t["name"]), t["name"], "tag") for t in facts["tags"]]
    our_paths = fragment.get("paths", {})
    # An operation is the same element under its operationId, even when upstream moves its path.
    ours_by_id = {op.get("operationId"): op for _, _, op in _operations(fragment)}
    paths: dict[str, Any] = {}
    for path, item in facts["paths"].items():
        ours_item = our_paths.get(path) if isinstance(our_paths.get(path), dict) else {}
        merged = {}
        for method, operation in item.items():
            if method in METHODS:
                where = f"{method.upper()} {path}"
                ours_op = ours_by_id.get(operation.get("operationId"))
                merged[method] = merger.element(operation, ours_op, where, "operation")
            else:
                merged[method] = merger.element(operation, ours_item.get(method), f"{path}/{method}")
        paths[path] = {k: merged[k] for k in _order(merged, ours_item)}
    out["paths"] = paths
    out["components"] = merger.element(facts["components"], fragment.get("components"), "components")
    counts = dict(merger.counts)
    counts["server"] = len(out["servers"])
    return Result(out, merger.needs, missing, counts)


# --- writing ----------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Fixed formatting: no anchors or aliases, however the data shares objects."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render(document: Mapping[str, Any]) -> str:
    body = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return HEADER + body


def lint_descriptions(document: Mapping[str, Any]) -> list[str]:
    """Operations and schemas without a description."""
    problems = [
        f"operation {method.upper()} {path} ({op.get('operationId', '?')}) has no description"
        for path, method, op in _operations(document)
        if not str(op.get("description", "")).strip()
    ]
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        if isinstance(schema, dict) and not str(schema.get("description", "")).strip():
            problems.append(f"schema {name} has no description")
    return problems


def _summary(counts: Mapping[str, int]) -> str:
    kinds = ("operation", "parameter", "response", "schema", "property", "server")
    total = sum(counts.get(k, 0) for k in kinds)
    parts = ", ".join(f"{counts.get(k, 0)} {k if k != 'property' else 'propertie'}s" for k in kinds)
    return f"{total} elements extracted ({parts})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--upstream", default="", help="file or http(s) URL; default: openapi/upstream.yaml")
    parser.add_argument("--add", default="", help="comma-separated upstream operationIds to wrap as well")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if the fragment would change"
    )
    parser.add_argument("--fragment", type=Path, default=FRAGMENT, help=argparse.SUPPRESS)
    parser.add_argument(
        "--write-cut",
        type=Path,
        metavar="FILE",
        help="also write upstream's unchanged text of the wrapped operations (JSON) to FILE",
    )
    parser.add_argument(
        "--lint-descriptions", action="store_true", help="check every operation and schema has a description"
    )
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    fragment_path: Path = args.fragment
    try:
        current_text = fragment_path.read_text(encoding="utf-8")
        fragment = yaml.safe_load(current_text)
    except (OSError, yaml.YAMLError) as exc:
        print(f"sync-spec: {fragment_path}: {exc}", file=sys.stderr)
        return 2
    if args.lint_descriptions:
        problems = lint_descriptions(fragment)
        for problem in problems:
            print(f"{fragment_path.name}: {problem}")
        return 1 if problems else 0

    started = time.monotonic()
    source = args.upstream or default_upstream()
    add = [a.strip() for a in args.add.split(",") if a.strip()]
    try:
        check_deviations(DEVIATIONS.read_text(encoding="utf-8"))
        upstream = load_upstream(source)
        result = sync(upstream, fragment, add)
    except SyncError as exc:
        print(f"sync-spec: {exc}", file=sys.stderr)
        return 2
    text = render(result.document)
    elapsed = time.monotonic() - started
    upstream_ops = sum(1 for _ in _operations(upstream))
    print(
        f"sync-spec: {source}: OpenAPI {upstream.get('openapi')}, info.version "
        f"{upstream['info'].get('version')}, {upstream_ops} operations, "
        f"{len(upstream.get('components', {}).get('schemas', {}))} schemas"
    )
    print(f"sync-spec: {_summary(result.counts)} in {elapsed:.2f} s")
    for operation_id in result.removed_upstream:
        print(f"sync-spec: upstream no longer has {operation_id}: dropped from the fragment")

    if args.write_cut:
        wrapped = _operation_ids(result.document)
        args.write_cut.write_text(json.dumps(cut(upstream, wrapped), indent=2), encoding="utf-8")
        print(f"sync-spec: wrote upstream's cut of {len(wrapped)} operations to {args.write_cut}")

    changed = text != current_text
    report = spec_diff.diff(
        fragment, result.document, old_name=str(fragment_path.name), new_name=f"sync of {source}"
    )
    if args.check:
        if not changed:
            print(f"sync-spec: {fragment_path.name} is what the sync writes: upstream has not moved")
            return 0
        print(f"sync-spec: {fragment_path.name} is not what the sync writes: upstream has moved")
        print(report.to_text())
        if not report.changes:
            print("(no change in fact: text, prose or formatting differs; run `make sync-spec`)")
        return 1
    if changed:
        fragment_path.write_text(text, encoding="utf-8")
        print(f"sync-spec: wrote {fragment_path}")
        print(report.to_text())
    else:
        print(f"sync-spec: {fragment_path.name} unchanged")
    if result.needs_description:
        count = len(result.needs_description)
        noun = "element needs" if count == 1 else "elements need"
        print(f"sync-spec: {count} new {noun} a description (write them in {fragment_path.name}):")
        for where in result.needs_description:
            print(f"  - {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
