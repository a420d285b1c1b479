"""Unknown enum values are kept, on every generated enum, without unbounded memory (the
generated enums' `_missing_`, from openapi/templates/str_enum.py.jinja)."""

from __future__ import annotations

import enum

import monite_generated.models
import pytest
from monite_generated.types import _pseudo_member

import monite_async
from monite_async import DNSRecord, DNSRecordPurpose, DNSRecordType, is_known


def generated_enums() -> list[type[enum.StrEnum]]:
    return [
        obj
        for obj in vars(monite_generated.models).values()
        if isinstance(obj, type) and issubclass(obj, enum.StrEnum)
    ]


def test_every_generated_enum_is_lenient() -> None:
    enums = generated_enums()
    assert {e.__name__ for e in enums} >= {"DNSRecordType", "DNSRecordPurpose", "GrantType"}
    for enum_class in enums:
        member = enum_class("A-VALUE-FROM-THE-FUTURE")
        assert isinstance(member, enum_class)
        assert member.value == "A-VALUE-FROM-THE-FUTURE"
        assert str(member) == "A-VALUE-FROM-THE-FUTURE"  # not "Class.member" (Python 3.11 pitfall)
        assert not is_known(member)


def test_known_values_are_still_the_real_members() -> None:
    assert DNSRecordType("MX") is DNSRecordType.MX
    assert is_known(DNSRecordPurpose.SPF)
    assert list(DNSRecordType) == [DNSRecordType.CNAME, DNSRecordType.MX, DNSRecordType.TXT]


def test_the_same_unknown_value_is_interned_and_equal_to_its_text() -> None:
    assert DNSRecordType("CAA") is DNSRecordType("CAA")
    assert DNSRecordType("CAA") == "CAA"


def test_non_string_values_still_fail_so_the_parser_reports_them() -> None:
    with pytest.raises(ValueError, match="not a valid DNSRecordType"):
        DNSRecordType(5)  # type: ignore[arg-type]


def test_a_record_with_unknown_values_parses_and_round_trips() -> None:
    raw = {"is_active": True, "record_type": "SRV", "record_purpose": "DMARC", "valid": "u", "value": "v"}
    record = DNSRecord.from_dict(raw)
    assert record.record_type.value == "SRV"
    assert record.to_dict() == raw


def test_the_cache_of_unknown_values_is_bounded() -> None:
    bound = _pseudo_member.cache_info().maxsize
    assert bound == 256
    for number in range(bound + 50):
        assert DNSRecordPurpose(f"PURPOSE-{number}").value == f"PURPOSE-{number}"
    assert _pseudo_member.cache_info().currsize == bound


def test_is_known_is_public() -> None:
    assert monite_async.is_known is is_known
