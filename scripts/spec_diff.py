"""Compare two OpenAPI documents the way a client sees them, and say what breaks it.

    python scripts/spec_diff.py OLD NEW            # text report, grouped breaking / not
    python scripts/spec_diff.py OLD NEW --json     # the same findings as JSON
    python scripts/spec_diff.py git:HEAD~1:openapi/mailbox_domains.yaml openapi/mailbox_domains.yaml

OLD and NEW are .yaml, .yml or .json files, or `git:REV:PATH` for a file as git stores
it at a revision (PATH from the repository root). Exit code: 0 when nothing breaks a
client, 1 when something does, 2 when an argument or a document is unusable.

What is compared: operations (matched by method and path, then by operationId for a
moved path; their first tag, which names the generated module's package), parameters,
request bodies, responses (status codes, media types, headers), schemas (types, formats,
patterns, enums, fields, required flags, limits, variants), security and servers.
Local `$ref`s are followed, components/responses included. Prose (summary, description,
title, examples, tags' descriptions) and `x-` extensions are ignored.

Direction matters: the client *sends* requests and *reads* responses. A field becoming
required breaks a request; a field becoming optional breaks a response reader. Each
finding says which side it is on and why it is (or is not) breaking.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import yaml

Side = Literal["request", "response"]
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Numeric limits: for a "min" limit a larger value is stricter, for a "max" a smaller one.
LOWER_LIMITS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
UPPER_LIMITS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
ENUM_NOTE = (
    "strict parsers (openapi-python-client's from_dict raises ValueError) fail on a value they do "
    "not know; monite_async tolerates unknown enum values"
)


class SpecError(Exception):
    """A document could not be read, parsed or resolved."""


@dataclass(frozen=True)
class Change:
    """One structural difference, classified for a client of the API."""

    kind: str
    location: str
    old: Any
    new: Any
    breaking: bool
    reason: str
    note: str = ""
    operation: str | None = None

    def describe(self) -> str:
        line = f"[{self.kind}] {self.location}: {_show(self.old)} -> {_show(self.new)} ({self.reason})"
        return f"{line}; note: {self.note}" if self.note else line


@dataclass
class Report:
    old: str
    new: str
    changes: list[Change] = field(default_factory=list)

    @property
    def breaking(self) -> list[Change]:
        return [c for c in self.changes if c.breaking]

    @property
    def non_breaking(self) -> list[Change]:
        return [c for c in self.changes if not c.breaking]

    def to_json(self) -> dict[str, Any]:
        return {
            "old": self.old,
            "new": self.new,
            "breaking": len(self.breaking),
            "non_breaking": len(self.non_breaking),
            "changes": [asdict(c) for c in self.changes],
        }

    def to_text(self) -> str:
        lines = [f"spec-diff: {self.old} -> {self.new}"]
        for title, group in (("Breaking", self.breaking), ("Non-breaking", self.non_breaking)):
            lines.append(f"{title} changes ({len(group)}):")
            lines.extend(f"  - {c.describe()}" for c in group)
            if not group:
                lines.append("  (none)")
        verdict = "BREAKING" if self.breaking else "compatible"
        lines.append(
            f"Result: {verdict}: {len(self.breaking)} breaking, {len(self.non_breaking)} non-breaking"
        )
        return "\n".join(lines)


def _show(value: Any) -> str:
    return "-" if value is None else json.dumps(value, sort_keys=True, default=str)


# --- loading ---------------------------------------------------------------------------


def load_document(source: str, *, cwd: Path | None = None) -> dict[str, Any]:
    """Read an OpenAPI document from a file, or from git as `git:REV:PATH`.

    >>> load_document("git:HEAD~1:openapi/mailbox_domains.yaml")["info"]["version"]  # doctest: +SKIP
    '2024-05-25'
    """
    if source.startswith("git:"):
        rev, sep, path = source[len("git:") :].partition(":")
        if not sep or not rev or not path:
            raise SpecError(f"{source!r}: expected git:REV:PATH, such as git:HEAD~1:openapi/x.yaml")
        result = subprocess.run(
            ["git", "show", f"{rev}:{path}"], cwd=cwd, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise SpecError(f"{source!r}: git show failed: {result.stderr.strip()}")
        text, name = result.stdout, path
    else:
        file = Path(source)
        if cwd is not None and not file.is_absolute():
            file = cwd / file
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise SpecError(f"{source}: cannot read: {exc.strerror or exc}") from None
        name = file.name
    return parse_document(text, name=name)


def parse_document(text: str, *, name: str) -> dict[str, Any]:
    try:
        if name.endswith(".json"):
            doc = json.loads(text)
        elif name.endswith((".yaml", ".yml")):
            doc = yaml.safe_load(text)
        else:
            raise SpecError(f"{name}: unknown extension; use .yaml, .yml or .json")
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise SpecError(f"{name}: not valid {'JSON' if name.endswith('.json') else 'YAML'}: {exc}") from None
    if not isinstance(doc, dict) or "paths" not in doc or not str(doc.get("openapi", "")).startswith("3"):
        raise SpecError(f"{name}: not an OpenAPI 3 document (needs `openapi: 3.x` and `paths`)")
    return doc


class Resolver:
    """Follows local `$ref`s (`#/components/...`) inside one document."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.doc = doc

    def lookup(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise SpecError(f"only local $refs are supported, not {ref!r}")
        node: Any = self.doc
        for token in ref[2:].split("/"):
            token = token.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or token not in node:
                raise SpecError(f"unresolvable $ref {ref!r}")
            node = node[token]
        return node

    def deref(self, node: Any) -> Any:
        """Follow a chain of `$ref`s (not into nested schemas); siblings of `$ref` are kept."""
        seen: set[str] = set()
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen:
                raise SpecError(f"$ref cycle at {ref!r}")
            seen.add(ref)
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            target = self.lookup(ref)
            node = {**target, **siblings} if siblings and isinstance(target, Mapping) else target
        return node


# --- comparing -------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    node: Mapping[str, Any]
    path_parameters: list[Any]

    @property
    def label(self) -> str:
        op_id = self.node.get("operationId")
        return str(op_id) if op_id else f"{self.method.upper()} {self.path}"


def operations_of(doc: Mapping[str, Any]) -> dict[tuple[str, str], Operation]:
    ops: dict[tuple[str, str], Operation] = {}
    for path, item in (doc.get("paths") or {}).items():
        if not isinstance(item, Mapping):
            continue
        for method in METHODS:
            if isinstance(item.get(method), Mapping):
                ops[(method, path)] = Operation(
                    method, path, item[method], list(item.get("parameters") or [])
                )
    return ops


class SpecDiff:
    """Compares two parsed documents; `run()` returns every finding."""

    def __init__(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        self.old_doc, self.new_doc = old, new
        self.old, self.new = Resolver(old), Resolver(new)
        # Findings inside a named schema pair do not depend on where it is used: compute once.
        self._memo: dict[tuple[str, str, Side], list[Change]] = {}
        self._active: set[tuple[str, str, Side]] = set()

    def run(self) -> list[Change]:
        changes = [*self._servers(), *self._security_schemes(), *self._info()]
        old_ops, new_ops = operations_of(self.old_doc), operations_of(self.new_doc)
        unmatched_old = {k: v for k, v in old_ops.items() if k not in new_ops}
        unmatched_new = {k: v for k, v in new_ops.items() if k not in old_ops}
        moved = self._match_moved(unmatched_old, unmatched_new)
        for key in sorted(old_ops.keys() & new_ops.keys()):
            changes.extend(self._operation(old_ops[key], new_ops[key]))
        for old_op, new_op in moved:
            changes.append(
                Change(
                    "operation-path-changed",
                    old_op.label,
                    f"{old_op.method.upper()} {old_op.path}",
                    f"{new_op.method.upper()} {new_op.path}",
                    True,
                    "the client calls the old method and path",
                    operation=old_op.label,
                )
            )
            changes.extend(self._operation(old_op, new_op))
        for _key, op in sorted(unmatched_old.items()):
            changes.append(
                Change(
                    "operation-removed",
                    f"{op.method.upper()} {op.path}",
                    op.label,
                    None,
                    True,
                    "clients calling it get an error; the generated function disappears",
                    operation=op.label,
                )
            )
        for _key, op in sorted(unmatched_new.items()):
            changes.append(
                Change(
                    "operation-added",
                    f"{op.method.upper()} {op.path}",
                    None,
                    op.label,
                    False,
                    "existing clients do not call it",
                    operation=op.label,
                )
            )
        return changes

    @staticmethod
    def _match_moved(
        old: dict[tuple[str, str], Operation], new: dict[tuple[str, str], Operation]
    ) -> list[tuple[Operation, Operation]]:
        """Pair operations whose operationId survived a change of method or path."""
        by_id = {op.node.get("operationId"): key for key, op in new.items() if op.node.get("operationId")}
        pairs = []
        for key, op in list(old.items()):
            new_key = by_id.get(op.node.get("operationId"))
            if new_key is not None and new_key in new:
                pairs.append((old.pop(key), new.pop(new_key)))
        return pairs

    # document level

    def _info(self) -> Iterator[Change]:
        old_v = (self.old_doc.get("info") or {}).get("version")
        new_v = (self.new_doc.get("info") or {}).get("version")
        if old_v != new_v:
            yield Change(
                "info-version-changed",
                "info.version",
                old_v,
                new_v,
                False,
                "the API version the SDK pins moves; review the changelog for behaviour changes",
            )

    def _servers(self) -> Iterator[Change]:
        def urls(doc: Mapping[str, Any]) -> list[str]:
            return [str(s.get("url")) for s in doc.get("servers") or [] if isinstance(s, Mapping)]

        old, new = urls(self.old_doc), urls(self.new_doc)
        for url in old:
            if url not in new:
                yield Change(
                    "server-removed",
                    "servers",
                    url,
                    None,
                    True,
                    "clients configured with this base URL lose it",
                )
        for url in new:
            if url not in old:
                yield Change("server-added", "servers", None, url, False, "a new base URL to choose")

    def _security_schemes(self) -> Iterator[Change]:
        old = (self.old_doc.get("components") or {}).get("securitySchemes") or {}
        new = (self.new_doc.get("components") or {}).get("securitySchemes") or {}
        for name in sorted(old.keys() | new.keys()):
            before = _strip_prose(self.old.deref(old[name])) if name in old else None
            after = _strip_prose(self.new.deref(new[name])) if name in new else None
            if before != after:
                yield Change(
                    "security-scheme-changed",
                    f"components.securitySchemes.{name}",
                    before,
                    after,
                    before is not None,
                    "a new scheme to authenticate with"
                    if before is None
                    else "clients authenticate as the old scheme says",
                )

    # operations

    def _operation(self, old: Operation, new: Operation) -> Iterator[Change]:
        label = old.label
        if old.node.get("operationId") != new.node.get("operationId"):
            yield Change(
                "operation-id-changed",
                label,
                old.node.get("operationId"),
                new.node.get("operationId"),
                True,
                "the generated function and module are renamed",
                operation=label,
            )
        if bool(old.node.get("deprecated")) != bool(new.node.get("deprecated")):
            yield Change(
                "deprecated-changed",
                label,
                bool(old.node.get("deprecated")),
                bool(new.node.get("deprecated")),
                False,
                "a warning, not a failure",
                operation=label,
            )
        # openapi-python-client writes each operation to api/<first tag>/<operationId>.py.
        tag_old, tag_new = (old.node.get("tags") or [None])[0], (new.node.get("tags") or [None])[0]
        if tag_old != tag_new:
            yield Change(
                "tag-changed",
                label,
                tag_old,
                tag_new,
                True,
                "the generated module moves to another api/<tag>/ package; imports of it break",
                operation=label,
            )
        yield from self._security(old, new, label)
        yield from self._parameters(old, new, label)
        yield from self._request_body(old, new, label)
        yield from self._responses(old, new, label)

    def _security(self, old: Operation, new: Operation, label: str) -> Iterator[Change]:
        def requirements(op: Operation, doc: Mapping[str, Any]) -> list[list[str]] | None:
            raw = op.node["security"] if "security" in op.node else doc.get("security")
            if raw is None:
                return None
            return sorted(sorted(req) for req in raw if isinstance(req, Mapping))

        before, after = requirements(old, self.old_doc), requirements(new, self.new_doc)
        if before != after:
            relaxed = not after or [] in after
            yield Change(
                "security-changed",
                f"{label} security",
                before,
                after,
                not relaxed,
                "authentication is no longer required"
                if relaxed
                else "clients authenticate as the old requirement says",
                operation=label,
            )

    def _params(self, op: Operation, resolver: Resolver) -> dict[tuple[str, str], Mapping[str, Any]]:
        params: dict[tuple[str, str], Mapping[str, Any]] = {}
        for raw in [*op.path_parameters, *(op.node.get("parameters") or [])]:
            param = resolver.deref(raw)
            where = str(param.get("in"))
            name = str(param.get("name"))
            # Header names are case-insensitive on the wire.
            params[(where, name.lower() if where == "header" else name)] = param
        return params

    def _parameters(self, old: Operation, new: Operation, label: str) -> Iterator[Change]:
        before, after = self._params(old, self.old), self._params(new, self.new)
        for key in sorted(before.keys() | after.keys()):
            where = f"{label} parameter {key[0]} {key[1]}"
            p_old, p_new = before.get(key), after.get(key)
            if p_new is None:
                yield Change(
                    "parameter-removed",
                    where,
                    "present",
                    None,
                    True,
                    "the generated function loses the argument; callers passing it break",
                    operation=label,
                )
                continue
            required_new = bool(p_new.get("required")) or key[0] == "path"
            if p_old is None:
                if required_new:
                    yield Change(
                        "parameter-added-required",
                        where,
                        None,
                        "required",
                        True,
                        "existing calls do not send it",
                        operation=label,
                    )
                else:
                    yield Change(
                        "parameter-added-optional",
                        where,
                        None,
                        "optional",
                        False,
                        "existing calls may leave it out",
                        operation=label,
                    )
                continue
            required_old = bool(p_old.get("required")) or key[0] == "path"
            if required_old != required_new:
                yield Change(
                    "required-flag-changed",
                    where,
                    required_old,
                    required_new,
                    required_new,
                    "existing calls may not send it" if required_new else "sending it stays allowed",
                    operation=label,
                )
            for change in self._schemas(p_old.get("schema"), p_new.get("schema"), "request", where, label):
                if change.kind == "type-changed" and change.location == where:
                    change = replace(change, kind="parameter-type-changed")
                yield change

    def _request_body(self, old: Operation, new: Operation, label: str) -> Iterator[Change]:
        b_old = self.old.deref(old.node.get("requestBody")) if old.node.get("requestBody") else None
        b_new = self.new.deref(new.node.get("requestBody")) if new.node.get("requestBody") else None
        where = f"{label} request body"
        if b_old is None and b_new is None:
            return
        if b_new is None:
            yield Change(
                "request-body-removed",
                where,
                "present",
                None,
                True,
                "the generated function loses its body argument",
                operation=label,
            )
            return
        if b_old is None:
            required = bool(b_new.get("required"))
            yield Change(
                "request-body-added",
                where,
                None,
                "required" if required else "optional",
                required,
                "existing calls send no body" if required else "the body is optional",
                operation=label,
            )
            return
        if bool(b_old.get("required")) != bool(b_new.get("required")):
            yield Change(
                "required-flag-changed",
                where,
                bool(b_old.get("required")),
                bool(b_new.get("required")),
                bool(b_new.get("required")),
                "existing calls may send no body" if b_new.get("required") else "sending it stays allowed",
                operation=label,
            )
        yield from self._content(b_old.get("content"), b_new.get("content"), "request", where, label)

    def _content(self, old: Any, new: Any, side: Side, where: str, label: str) -> Iterator[Change]:
        old, new = old or {}, new or {}
        for media in sorted(old.keys() | new.keys()):
            if media not in new:
                yield Change(
                    "media-type-removed",
                    f"{where} {media}",
                    media,
                    None,
                    True,
                    "the client sends or expects this media type",
                    operation=label,
                )
            elif media not in old:
                yield Change(
                    "media-type-added",
                    f"{where} {media}",
                    None,
                    media,
                    side == "response",
                    "the client cannot read this media type"
                    if side == "response"
                    else "another way to send the body",
                    operation=label,
                )
            else:
                yield from self._schemas(
                    (old[media] or {}).get("schema"), (new[media] or {}).get("schema"), side, where, label
                )

    def _responses(self, old: Operation, new: Operation, label: str) -> Iterator[Change]:
        r_old = {str(k): v for k, v in (old.node.get("responses") or {}).items()}
        r_new = {str(k): v for k, v in (new.node.get("responses") or {}).items()}
        for code in sorted(r_old.keys() | r_new.keys()):
            where = f"{label} response {code}"
            success = code.startswith("2")
            if code not in r_new:
                yield Change(
                    "status-code-removed",
                    where,
                    code,
                    None,
                    success,
                    "clients written for this success status break"
                    if success
                    else "one error the client no longer needs to expect",
                    operation=label,
                )
                continue
            if code not in r_old:
                yield Change(
                    "status-code-added",
                    where,
                    None,
                    code,
                    success,
                    "old clients do not parse this success status"
                    if success
                    else "an error status; the client's error mapping handles it by code",
                    operation=label,
                )
                continue
            resp_old, resp_new = self.old.deref(r_old[code]), self.new.deref(r_new[code])
            yield from self._content(
                resp_old.get("content"), resp_new.get("content"), "response", where, label
            )
            yield from self._headers(resp_old.get("headers"), resp_new.get("headers"), where, label)

    def _headers(self, old: Any, new: Any, where: str, label: str) -> Iterator[Change]:
        old = {k.lower(): v for k, v in (old or {}).items()}
        new = {k.lower(): v for k, v in (new or {}).items()}
        for name in sorted(old.keys() | new.keys()):
            at = f"{where} header {name}"
            if name not in new:
                yield Change(
                    "response-header-removed",
                    at,
                    name,
                    None,
                    True,
                    "clients reading it find nothing",
                    operation=label,
                )
            elif name not in old:
                yield Change(
                    "response-header-added", at, None, name, False, "clients may ignore it", operation=label
                )
            else:
                h_old, h_new = self.old.deref(old[name]), self.new.deref(new[name])
                yield from self._schemas(h_old.get("schema"), h_new.get("schema"), "response", at, label)

    # schemas

    def _schemas(self, old: Any, new: Any, side: Side, where: str, label: str) -> Iterator[Change]:
        for change in self._schema(old, new, side, ""):
            location = f"{where} {change.location}".rstrip() if change.location else where
            yield Change(
                change.kind,
                location,
                change.old,
                change.new,
                change.breaking,
                change.reason,
                change.note,
                label,
            )

    def _schema(self, old: Any, new: Any, side: Side, at: str) -> list[Change]:
        """Findings between two schemas, with locations relative to them (such as `.data[].id`)."""
        if old is None and new is None:
            return []
        if old is None or new is None:
            return [
                Change(
                    "schema-changed",
                    at,
                    "schema" if old else None,
                    "schema" if new else None,
                    True,
                    "the body's shape was added or removed",
                )
            ]
        ref_old, ref_new = _ref_name(old), _ref_name(new)
        changes: list[Change] = []
        if ref_old and ref_new:
            if ref_old != ref_new:
                changes.append(
                    Change(
                        "schema-renamed", at, ref_old, ref_new, True, "the generated model class is renamed"
                    )
                )
            key = (old["$ref"], new["$ref"], side)
            if key in self._active:  # a recursive schema: its other findings are being computed
                return changes
            if key not in self._memo:
                self._active.add(key)
                try:
                    self._memo[key] = self._structure(self.old.deref(old), self.new.deref(new), side, "")
                finally:
                    self._active.discard(key)
            return changes + [_prefixed(c, at) for c in self._memo[key]]
        return changes + self._structure(self.old.deref(old), self.new.deref(new), side, at)

    def _structure(self, old: Any, new: Any, side: Side, at: str) -> list[Change]:
        old, new = _unwrap(self.old, old), _unwrap(self.new, new)
        if not isinstance(old, Mapping) or not isinstance(new, Mapping):
            return [] if old == new else [Change("schema-changed", at, old, new, True, "unreadable schema")]
        changes: list[Change] = []
        changes += _type_change(old, new, side, at)
        changes += _format_change(old, new, side, at)
        changes += _pattern_change(old, new, side, at)
        changes += _enum_change(old, new, side, at)
        changes += _limit_changes(old, new, side, at)
        if old.get("default") != new.get("default"):
            changes.append(
                Change(
                    "default-changed",
                    at,
                    old.get("default"),
                    new.get("default"),
                    False,
                    "the value used when the field is left out changes",
                )
            )
        changes += self._properties(old, new, side, at)
        changes += self._variants(old, new, side, at)
        if "items" in old or "items" in new:
            changes += self._schema(old.get("items"), new.get("items"), side, f"{at}[]")
        return changes

    def _properties(
        self, old: Mapping[str, Any], new: Mapping[str, Any], side: Side, at: str
    ) -> list[Change]:
        props_old, props_new = old.get("properties") or {}, new.get("properties") or {}
        req_old, req_new = set(old.get("required") or []), set(new.get("required") or [])
        changes: list[Change] = []
        for name in sorted(props_old.keys() | props_new.keys()):
            here = f"{at}.{name}"
            if name not in props_new:
                changes.append(
                    Change("response-field-removed", here, "present", None, True, "clients reading it break")
                    if side == "response"
                    else Change(
                        "request-field-removed",
                        here,
                        "present",
                        None,
                        True,
                        "the generated model loses it; sending it may be refused",
                    )
                )
                continue
            if name not in props_old:
                if side == "response":
                    changes.append(
                        Change(
                            "response-field-added",
                            here,
                            None,
                            "required" if name in req_new else "optional",
                            False,
                            "clients ignore fields they do not read",
                        )
                    )
                elif name in req_new:
                    changes.append(
                        Change(
                            "request-field-added-required",
                            here,
                            None,
                            "required",
                            True,
                            "existing requests do not send it",
                        )
                    )
                else:
                    changes.append(
                        Change(
                            "request-field-added-optional",
                            here,
                            None,
                            "optional",
                            False,
                            "existing requests may leave it out",
                        )
                    )
                continue
            was, now = name in req_old, name in req_new
            if was != now:
                breaking = now if side == "request" else not now
                reason = {
                    ("request", True): "existing requests may leave it out",
                    ("request", False): "leaving it out becomes allowed",
                    ("response", False): "clients reading it may find it missing",
                    ("response", True): "it is always present now",
                }[(side, now)]
                changes.append(Change("required-flag-changed", here, was, now, breaking, reason))
            changes += self._schema(props_old[name], props_new[name], side, here)
        # Names listed as required without a property schema still count.
        for name in sorted((req_old ^ req_new) - props_old.keys() - props_new.keys()):
            now = name in req_new
            changes.append(
                Change(
                    "required-flag-changed",
                    f"{at}.{name}",
                    not now,
                    now,
                    now if side == "request" else not now,
                    "required list changed",
                )
            )
        extra_old = old.get("additionalProperties", True) is not False
        extra_new = new.get("additionalProperties", True) is not False
        if extra_old != extra_new:
            tighter = not extra_new
            changes.append(
                Change(
                    "additional-properties-changed",
                    at or ".",
                    extra_old,
                    extra_new,
                    tighter and side == "request",
                    "unknown fields are refused now" if tighter else "unknown fields are allowed now",
                )
            )
        # A map's value schema (`additionalProperties: {schema}`) is compared like a field's.
        map_old, map_new = old.get("additionalProperties"), new.get("additionalProperties")
        if isinstance(map_old, Mapping) and isinstance(map_new, Mapping):
            changes += self._schema(map_old, map_new, side, f"{at}{{*}}")
        return changes

    def _variants(self, old: Mapping[str, Any], new: Mapping[str, Any], side: Side, at: str) -> list[Change]:
        changes: list[Change] = []
        for keyword in ("anyOf", "oneOf", "allOf"):
            v_old, v_new = list(old.get(keyword) or []), list(new.get(keyword) or [])
            if not v_old and not v_new:
                continue
            if len(v_old) == len(v_new):
                for i, (a, b) in enumerate(zip(v_old, v_new, strict=True)):
                    changes += self._schema(a, b, side, f"{at}<{keyword}[{i}]>")
                continue
            names_old = [_ref_name(v) or _describe_variant(self.old, v) for v in v_old]
            names_new = [_ref_name(v) or _describe_variant(self.new, v) for v in v_new]
            if keyword == "allOf":
                breaking, reason = True, "the combined shape changed"
            else:
                widened = len(v_new) > len(v_old)
                # A request accepting more shapes is fine; a response that may hold more is not.
                breaking = widened == (side == "response")
                reason = "more shapes" if widened else "fewer shapes"
            changes.append(
                Change(
                    "variants-changed",
                    f"{at}<{keyword}>",
                    names_old,
                    names_new,
                    breaking,
                    f"{reason} on the {side} side",
                )
            )
        return changes


def _prefixed(change: Change, at: str) -> Change:
    return Change(
        change.kind,
        f"{at}{change.location}",
        change.old,
        change.new,
        change.breaking,
        change.reason,
        change.note,
    )


def _ref_name(schema: Any) -> str | None:
    if isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str):
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    return None


def _describe_variant(resolver: Resolver, schema: Any) -> str:
    node = resolver.deref(schema)
    return str(_types(node) or "any") if isinstance(node, Mapping) else "?"


def _unwrap(resolver: Resolver, schema: Any) -> Any:
    """`allOf: [one schema]` with nothing else structural is only a wrapper (used for descriptions)."""
    node = resolver.deref(schema)
    while isinstance(node, Mapping) and len(node.get("allOf") or []) == 1:
        structural = set(node) - PROSE - {"allOf"}
        if structural:
            break
        node = resolver.deref(node["allOf"][0])
    return node


PROSE = frozenset({"description", "summary", "title", "example", "examples", "externalDocs", "deprecated"})


def _strip_prose(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {k: _strip_prose(v) for k, v in node.items() if k not in PROSE and not str(k).startswith("x-")}
    if isinstance(node, list):
        return [_strip_prose(v) for v in node]
    return node


def _types(schema: Mapping[str, Any]) -> frozenset[str] | None:
    """The set of JSON types a schema allows; None when it does not say (any type)."""
    raw = schema.get("type")
    if raw is None:
        return None
    types = {raw} if isinstance(raw, str) else set(raw)
    if schema.get("nullable") is True:  # OpenAPI 3.0 spelling of "or null"
        types.add("null")
    return frozenset(types)


def _covers(wider: frozenset[str] | None, narrower: frozenset[str] | None) -> bool:
    """Whether every value of `narrower`'s types is also of one of `wider`'s types."""
    if wider is None:
        return True
    if narrower is None:
        return False
    return all(t in wider or (t == "integer" and "number" in wider) for t in narrower)


def _type_change(old: Mapping[str, Any], new: Mapping[str, Any], side: Side, at: str) -> list[Change]:
    t_old, t_new = _types(old), _types(new)
    if t_old == t_new:
        return []
    # A request must still accept what clients send; a response must not produce what they cannot read.
    ok = _covers(t_new, t_old) if side == "request" else _covers(t_old, t_new)
    shown_old = sorted(t_old) if t_old is not None else None
    shown_new = sorted(t_new) if t_new is not None else None
    if not ok:
        reason = (
            "the client sends values of the old type"
            if side == "request"
            else ("the client reads values of the old type")
        )
    else:
        reason = "the server accepts more types" if side == "request" else "the client reads fewer types"
    return [Change("type-changed", at, shown_old, shown_new, not ok, reason)]


def _format_change(old: Mapping[str, Any], new: Mapping[str, Any], side: Side, at: str) -> list[Change]:
    f_old, f_new = old.get("format"), new.get("format")
    if f_old == f_new:
        return []
    if side == "request":
        breaking, reason = (
            f_new is not None,
            (
                "values that were valid may be refused"
                if f_new is not None
                else "the value is less constrained"
            ),
        )
    else:
        breaking, reason = (
            f_old is not None,
            (
                "clients parse the value by its old format"
                if f_old is not None
                else "old clients read it as a plain value"
            ),
        )
    return [Change("format-changed", at, f_old, f_new, breaking, reason)]


def _pattern_change(old: Mapping[str, Any], new: Mapping[str, Any], side: Side, at: str) -> list[Change]:
    p_old, p_new = old.get("pattern"), new.get("pattern")
    if p_old == p_new:
        return []
    # Two regexes cannot be compared for inclusion here: any new or changed pattern on a request may refuse
    # a value that was accepted. Clients do not validate response patterns.
    breaking = side == "request" and p_new is not None
    reason = "values that were valid may be refused" if breaking else f"no effect on the {side} side"
    return [Change("pattern-changed", at, p_old, p_new, breaking, reason)]


def _enum_values(schema: Mapping[str, Any]) -> list[Any] | None:
    if "enum" in schema:
        return list(schema["enum"] or [])
    if "const" in schema:
        return [schema["const"]]
    return None


def _enum_change(old: Mapping[str, Any], new: Mapping[str, Any], side: Side, at: str) -> list[Change]:
    e_old, e_new = _enum_values(old), _enum_values(new)
    if e_old == e_new:
        return []
    if e_old is None or e_new is None:
        narrowed = e_new is not None
        breaking = narrowed if side == "request" else not narrowed
        return [
            Change(
                "enum-changed",
                at,
                e_old,
                e_new,
                breaking,
                "the set of allowed values is restricted"
                if narrowed
                else "any value is allowed now; the generated type becomes a plain value",
            )
        ]
    changes = []
    for value in e_old:
        if value not in e_new:
            changes.append(
                Change(
                    "enum-value-removed",
                    at,
                    value,
                    None,
                    True,
                    "clients sending it are refused"
                    if side == "request"
                    else "the regenerated enum loses the member; code naming it breaks",
                )
            )
    for value in e_new:
        if value not in e_old:
            if side == "request":
                changes.append(Change("enum-value-added", at, None, value, False, "one more value to send"))
            else:
                changes.append(
                    Change(
                        "enum-value-added",
                        at,
                        None,
                        value,
                        False,
                        "clients may receive a value they do not know",
                        ENUM_NOTE,
                    )
                )
    return changes


def _limit_changes(old: Mapping[str, Any], new: Mapping[str, Any], side: Side, at: str) -> list[Change]:
    changes = []
    for keyword in (*LOWER_LIMITS, *UPPER_LIMITS):
        l_old, l_new = old.get(keyword), new.get(keyword)
        if l_old == l_new or isinstance(l_old, bool) or isinstance(l_new, bool):
            continue
        lower = keyword in LOWER_LIMITS
        if l_new is None:
            stricter = False
        elif l_old is None:
            stricter = True
        else:
            stricter = l_new > l_old if lower else l_new < l_old
        breaking = stricter and side == "request"
        changes.append(
            Change(
                "limit-changed",
                f"{at} {keyword}".strip(),
                l_old,
                l_new,
                breaking,
                f"{'stricter' if stricter else 'looser'} on the {side} side",
            )
        )
    return changes


def diff(
    old: Mapping[str, Any], new: Mapping[str, Any], *, old_name: str = "old", new_name: str = "new"
) -> Report:
    """Compare two parsed OpenAPI documents.

    >>> report = diff(load_document("old.yaml"), load_document("new.yaml"))  # doctest: +SKIP
    >>> [c.kind for c in report.breaking]  # doctest: +SKIP
    ['operation-removed']
    """
    return Report(old_name, new_name, SpecDiff(old, new).run())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("old", help="the earlier document: a file or git:REV:PATH")
    parser.add_argument("new", help="the later document: a file or git:REV:PATH")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage and 0 on --help; keep both
        return int(exc.code or 0)
    try:
        report = diff(load_document(args.old), load_document(args.new), old_name=args.old, new_name=args.new)
    except SpecError as exc:
        print(f"spec-diff: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report.to_json(), indent=2, default=str) if args.json else report.to_text())
    return 1 if report.breaking else 0


if __name__ == "__main__":
    sys.exit(main())
