from __future__ import annotations

import json
from pathlib import Path

from envguard.policy import RULE_NAMES
from envguard.rules.catalog import BY_CODE, RULES, lookup

SCHEMA = Path(__file__).resolve().parents[2] / "policies" / "policy.schema.json"


def test_codes_and_names_are_unique_and_stable_in_form() -> None:
    assert len({r.code for r in RULES}) == len({r.name for r in RULES}) == len(RULES)
    for rule in RULES:
        assert rule.code.startswith("EG") and rule.code[2:].isdigit()
        assert rule.name == rule.name.lower() and " " not in rule.name
        assert rule.summary and rule.why and rule.fix


def test_policy_and_its_schema_know_every_rule() -> None:
    assert RULE_NAMES == tuple(r.name for r in RULES)
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["$defs"]["ruleName"]["enum"] == list(RULE_NAMES)


def test_lookup_by_name_or_code() -> None:
    assert lookup("EG101") is BY_CODE["EG101"]
    assert lookup("eg101") is BY_CODE["EG101"]
    assert lookup("unapproved-plugin") is BY_CODE["EG101"]
    assert lookup("no-such-rule") is None
