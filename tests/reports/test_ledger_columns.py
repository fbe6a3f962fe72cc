"""Cell parsers: what people type in county ledgers, and the Chinese message for what they may not."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from reports.columns import (
    CellError,
    clean,
    col_letter,
    column_for,
    parse_bool,
    parse_category,
    parse_date,
    parse_level,
    parse_rating,
    parse_severity,
    parse_state,
)


@pytest.mark.parametrize(
    "value",
    [
        "2024-02-19",
        "2024/2/19",
        "2024.02.19",
        "20240219",
        "2024年2月19日",
        "2024 年 2 月 19 日",
        "2024年2月19号",
        "２０２４－０２－１９",
        "２０２４年２月１９日",
        "2024-02-19 00:00:00",
        date(2024, 2, 19),
        datetime(2024, 2, 19, 8),
        45341,
        45341.0,
    ],
)
def test_dates(value):
    assert parse_date(value) == date(2024, 2, 19)


@pytest.mark.parametrize(
    "value,message",
    [
        ("2024-02-30", "不是存在的日期"),
        ("明天", "应为日期"),
        ("19/2/2024", "应为日期"),
        (12, "应为日期"),
    ],
)
def test_bad_dates(value, message):
    with pytest.raises(CellError, match=message):
        parse_date(value)


def test_blank_date():
    assert parse_date(None) is None and parse_date("  ") is None and parse_date("\u3000") is None


def test_labels_ids_and_synonyms():
    assert [parse_category(x) for x in ("土地", "land", "土地问题", " 征拆 ", "要素保障")] == [
        "land",
        "land",
        "land",
        "demolition",
        "factor",
    ]
    assert [parse_severity(x) for x in ("", None, "重大", "major", "一般性")] == [
        "general",
        "general",
        "major",
        "major",
        "general",
    ]
    assert [parse_state(x) for x in ("交办", "已销号", "督办中", "review", "申请销号", "已挂起")] == [
        "assigned",
        "closed",
        "supervised",
        "review",
        "review",
        "suspended",
    ]
    assert [parse_level(x) for x in ("单位", "“13710”督办", "13710督办", "县政府会议", "county_leader")] == [
        "unit",
        "supervision_13710",
        "supervision_13710",
        "government_meeting",
        "county_leader",
    ]
    assert parse_rating("良好") == "good"
    assert [parse_bool(x) for x in ("是", "否", "", None, "Y", "√", 1, 0)] == [
        True,
        False,
        False,
        False,
        True,
        True,
        True,
        False,
    ]
    with pytest.raises(CellError, match="不是有效的状态，可选：发现（discovered）、交办（assigned）"):
        parse_state("处理中")
    with pytest.raises(CellError, match="应为「是」或「否」"):
        parse_bool("也许")


def test_headers_and_letters():
    assert column_for("问题名称").key == "title" and column_for(" 存在问题 ").key == "title"
    assert column_for("办结时限*").key == "deadline" and column_for("责任单位：").key == "unit"
    assert column_for("负责同志") is None
    assert [col_letter(i) for i in (0, 25, 26, 27, 701)] == ["A", "Z", "AA", "AB", "ZZ"]
    assert clean(3.0) == "3" and clean("\u3000ａ") == "ａ"
