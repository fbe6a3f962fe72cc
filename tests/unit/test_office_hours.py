"""Office hours, merging waiting notices, people's delivery choices and the fan-out to channels — pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import pytest

from notifications import choices
from notifications.kinds import KIND_LABELS
from notifications.merge import plan
from service.directory import DirectoryView, UnitInfo, UserInfo
from service.routing import ChannelRef, Routing, fan_out
from tests.conftest import at
from workflow.errors import RulesError
from workflow.office_hours import NOTICE_KINDS, parse_window
from workflow.rules import DEFAULT_RULES_PATH, load_rules, parse_rules

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def hours():
    return load_rules().office_hours()


def test_the_default_window_is_0830_to_1800_on_working_days(hours):
    w = hours.window
    assert (w.start, w.end, w.workdays_only) == (time(8, 30), time(18, 0), True) and hours.urgent == frozenset()
    assert w.is_open(at("2024-02-08T08:30")) and w.is_open(at("2024-02-08T17:59"))
    assert not w.is_open(at("2024-02-08T08:29")) and not w.is_open(at("2024-02-08T18:00"))
    assert not w.is_open(at("2024-02-10T10:00"))  # 春节
    assert w.is_open(at("2024-02-04T10:00"))  # Sunday, a make-up working day (调休)
    assert not w.is_open(at("2024-01-01T10:00"))  # 元旦


def test_the_window_next_opens_after_the_spring_festival(hours):
    # 除夕 2024-02-09 is a working day in 2024; 02-10..02-17 off; Sunday 02-18 is a make-up working day.
    assert hours.window.next_open(at("2024-02-09T18:30")) == at("2024-02-18T08:30")
    assert hours.window.next_open(at("2024-02-08T00:10")) == at("2024-02-08T08:30")
    moment = at("2024-02-08T11:00")
    assert hours.window.next_open(moment) == moment
    assert hours.held_since(moment) == at("2024-02-08T08:30") and hours.held_since(at("2024-02-08T19:00")) is None


def test_urgent_kinds_bypass_the_window():
    data = _rules_data()
    data["delivery"] = {"window": "09:00-17:30", "urgent": ["escalation"], "workdays_only": False}
    h = parse_rules(data, "x.toml").office_hours()
    assert h.may_send("escalation", at("2024-02-10T03:00")) and not h.may_send("overdue", at("2024-02-10T03:00"))
    assert h.may_send("overdue", at("2024-02-10T10:00"))  # every day of the week
    assert h.window.label() == "每天 09:00–17:30"


@pytest.mark.parametrize(
    "delivery, key",
    [
        ({"window": "18:00-08:30"}, "delivery.window"),
        ({"window": "8点半"}, "delivery.window"),
        ({"urgent": ["urgentest"]}, "delivery.urgent[0]"),
        ({"workdays_only": "yes"}, "delivery.workdays_only"),
        ({"windows": "08:30-18:00"}, "delivery.windows"),
    ],
)
def test_a_bad_delivery_table_names_the_file_and_key(delivery, key):
    data = _rules_data()
    data["delivery"] = delivery
    with pytest.raises(RulesError) as err:
        parse_rules(data, "x.toml")
    assert f"x.toml: 键 {key}" in err.value.message


def test_a_window_to_midnight():
    assert parse_window("00:00-24:00") == (time(0), time(0))
    assert parse_window("20:00-24:00") == (time(20), time(0))


def test_the_kinds_of_the_rules_file_are_the_kinds_notices_have():
    assert set(NOTICE_KINDS) == set(KIND_LABELS)


# -- merging -------------------------------------------------------------------------------------------


@dataclass
class Row:
    id: int
    kind: str
    created_at: datetime
    dest: str


def test_waiting_notices_are_merged_per_destination_and_kind_at_most_ten_to_a_message():
    opened = datetime(2024, 2, 8, 0, 30, tzinfo=UTC)
    night = opened - timedelta(hours=8)
    rows = [Row(i, "overdue", night, "a") for i in range(12)]
    rows += [Row(20, "reminder", night, "a"), Row(21, "overdue", night, "b"), Row(22, "overdue", opened, "a")]
    messages = plan(rows, opened, lambda r: r.dest, 10)
    assert [[r.id for r in m] for m in messages] == [list(range(10)), [10, 11], [20], [21], [22]]
    assert [[r.id for r in m] for m in plan(rows, None, lambda r: r.dest)] == [[r.id] for r in rows]


# -- choices and fan-out -----------------------------------------------------------------------------------


def test_defaults_everything_to_the_inbox_and_the_important_kinds_further():
    d = choices.DEFAULTS
    assert all(choices.INBOX in ways for ways in d.values())
    assert d["assignment"] == {"inbox", "email", "channel"}
    assert d["escalation"] == d["letter"] == {"inbox", "email", "channel", "sms"}
    assert d["overdue"] == d["digest"] == {"inbox"}
    assert set(choices.PREFERENCE_KINDS) == set(KIND_LABELS)  # the 督办函 is its own kind, ``letter``


def test_a_bad_choice_names_the_value():
    with pytest.raises(Exception) as err:
        choices.check_ways("overdue", ["inbox", "pigeon"])
    assert "pigeon" in err.value.message and err.value.field == "channels"
    with pytest.raises(Exception) as err:
        choices.check_ways("nonsense", ["inbox"])
    assert err.value.field == "kind"


def _view() -> DirectoryView:
    units = (UnitInfo(1, "zrzy", "自然资源局", "department"), UnitInfo(2, "dcs", "督查室", "inspection_office"))
    users = (
        UserInfo(1, "head", "赵局长", 1, "unit_head", "head@x", True),
        UserInfo(2, "staff", "孙科员", 1, "staff", None, True),
        UserInfo(3, "insp", "张督查", 2, "inspector", "insp@x", True),
    )
    return DirectoryView(1, units, users, ())


def _row(login: str | None, kind: str = "assignment", role: str = "unit_head", payload=None) -> dict:
    now = datetime(2024, 2, 8, 1, 0, tzinfo=UTC)
    return dict(
        dedup_key=f"{kind}|7|unit|2024-02-20||{login or 'role:x'}",
        kind=kind,
        problem_id=7,
        event_id=1,
        level="unit",
        deadline=None,
        recipient_role=role,
        recipient_login=login,
        recipient_email=f"{login}@x" if login else None,
        status="pending" if login else "undeliverable",
        last_error="",
        attempts=0,
        created_at=now,
        next_attempt_at=now,
        payload=payload or {},
    )


def test_fan_out_follows_choices_and_sends_a_unit_group_one_row_per_notice():
    group, phone = ChannelRef(5, "wecom", 1, None), ChannelRef(6, "sms", None, 1)
    route = Routing(1, {2: {"assignment": ("inbox",)}}, {1: (group,)}, {1: (phone,)})
    out = fan_out([_row("head"), _row("staff", role="responsible_person"), _row(None)], _view(), route)
    got = sorted((r["channel"], r["recipient_login"] or "", r["dedup_key"].rpartition("|")[2]) for r in out)
    assert got == [
        ("email", "", "role:x"),
        ("email", "head", "head"),
        ("inbox", "head", "inbox"),
        ("inbox", "staff", "inbox"),
        ("wecom", "", "ch5"),
    ]
    assert len({tuple(sorted(r)) for r in out}) == 1  # the same keys in every row: one executemany
    # The 督办函 also goes by SMS to the head's phone (SMS by default for letters only, and escalations).
    letter = fan_out([_row("head", "letter", payload={"number": "阳督函〔2024〕3号"})], _view(), route)
    assert sorted(r["channel"] for r in letter) == ["email", "inbox", "sms", "wecom"]
    reminder = fan_out([_row("head", "reminder")], _view(), route)
    assert sorted(r["channel"] for r in reminder) == ["inbox"]
    assert fan_out(out, _view(), route) == out  # rows already per channel pass through as they are


def _rules_data() -> dict:
    import tomllib

    return tomllib.loads(DEFAULT_RULES_PATH.read_text("utf-8"))
