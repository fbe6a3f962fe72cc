"""The half-monthly dispatch runs on the first working day on or after the 1st and the 16th: never on 元旦 or
during the Spring Festival holiday (the statutory calendar of the rules file)."""

from __future__ import annotations

import pytest

from service.digests import dispatch_period
from tests.conftest import at

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("moment", "period"),
    [
        ("2024-01-01T09:00", "2023-12/16"),  # 元旦: the 1st's dispatch waits, the last one still runs
        ("2024-01-02T08:00", "2023-12/16"),  # the first working day, before the dispatch time
        ("2024-01-02T09:00", "2024-01/01"),
        ("2024-01-16T09:00", "2024-01/16"),  # a Tuesday: on the day
        ("2024-09-16T09:00", "2024-09/01"),  # 中秋节 holiday (Monday 16 Sep 2024)
        ("2024-09-18T09:00", "2024-09/16"),  # the first working day after it
        ("2025-02-01T09:00", "2025-01/16"),  # Spring Festival holiday (28 Jan – 4 Feb 2025)
        ("2025-02-05T09:00", "2025-02/01"),
    ],
)
def test_dispatch_waits_for_a_working_day(rules, moment, period):
    assert dispatch_period(rules, at(moment)) == period
