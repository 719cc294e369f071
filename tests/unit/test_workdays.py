"""Working days counted with China's public holidays and make-up working days.

Every date below is from the State Council's yearly holiday arrangements for 2025 and 2026, as
read from the data of chinesecalendar 1.11.0 (``chinese_calendar.holidays`` / ``.workdays``):

- 2025 Spring Festival: off 1-28 (Tue) … 2-4 (Tue); make-up working days Sun 1-26, Sat 2-8.
- 2025 National Day and Mid-autumn: off 10-1 … 10-8; make-up Sun 9-28, Sat 10-11.
- 2026 Spring Festival: off 2-15 (Sun) … 2-23 (Mon); make-up Sat 2-14, Sat 2-28.
- 2026 Mid-autumn off 9-25 … 9-27; National Day off 10-1 … 10-7; make-up Sun 9-20, Sat 10-10.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from publisher.errors import InputError, UnknownHolidayYear
from publisher.obligations.workdays import (
    Break,
    add_working_days,
    calendar_version,
    due_date,
    holiday_name,
    is_working_day,
    known_years,
    span_text,
    weekday_name,
    working_days_between,
)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 10, 5), False),  # a Monday inside National Day
        (date(2026, 10, 10), True),  # a make-up Saturday
        (date(2026, 9, 20), True),  # a make-up Sunday
        (date(2026, 10, 11), False),  # an ordinary Sunday
        (date(2026, 10, 8), True),  # the Thursday after National Day
        (date(2026, 2, 14), True),  # the Saturday before the Spring Festival
        (date(2026, 2, 23), False),  # the Monday that ends it
        (date(2025, 10, 8), False),  # 2025: National Day and Mid-autumn ran to the 8th
        (date(2025, 9, 28), True),
    ],
)
def test_holidays_and_make_up_days(day: date, working: bool) -> None:
    assert is_working_day(day) is working


def test_seven_working_days_from_the_eve_of_national_day() -> None:
    # Decision dated Wednesday 2026-09-30: 10-8, 10-9, 10-10 (Sat), 10-12, 10-13, 10-14, 10-15.
    assert add_working_days(date(2026, 9, 30), 7) == date(2026, 10, 15)


def test_seven_working_days_from_the_eve_of_national_day_2025() -> None:
    # Tuesday 2025-09-30: 10-9, 10-10, 10-11 (Sat), 10-13, 10-14, 10-15, 10-16.
    assert add_working_days(date(2025, 9, 30), 7) == date(2025, 10, 16)


def test_seven_working_days_from_the_eve_of_the_spring_festival() -> None:
    # Monday 2025-01-27: 2-5, 2-6, 2-7, 2-8 (Sat), 2-10, 2-11, 2-12.
    assert add_working_days(date(2025, 1, 27), 7) == date(2025, 2, 12)


def test_a_make_up_saturday_is_the_next_working_day() -> None:
    # A decision dated Friday 2026-02-13: the first working day after it is Saturday the 14th.
    assert add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    # and both make-up Saturdays count: 2-14, 2-24 … 2-27, 2-28, 3-2.
    assert add_working_days(date(2026, 2, 13), 7) == date(2026, 3, 2)


def test_a_make_up_sunday_counts_too() -> None:
    assert add_working_days(date(2025, 9, 26), 1) == date(2025, 9, 28)


def test_an_ordinary_week_skips_only_the_weekend() -> None:
    assert add_working_days(date(2026, 3, 6), 7) == date(2026, 3, 17)


def test_a_decision_dated_on_a_holiday_counts_from_the_first_day_back() -> None:
    assert add_working_days(date(2026, 10, 3), 1) == date(2026, 10, 8)


def test_twenty_working_days_across_mid_autumn_and_national_day() -> None:
    # Art. 26: created Tuesday 2026-09-15. September: 16-18, 20 (Sun), 21-24, 28-30 = 11;
    # October: 8, 9, 10 (Sat), 12-16 = 8; the 20th is Monday 10-19.
    assert add_working_days(date(2026, 9, 15), 20) == date(2026, 10, 19)


def test_counting_back_for_a_reminder() -> None:
    assert add_working_days(date(2026, 10, 8), -1) == date(2026, 9, 30)
    assert add_working_days(date(2026, 3, 2), -2) == date(2026, 2, 27)
    assert add_working_days(date(2026, 3, 2), 0) == date(2026, 3, 2)


def test_working_days_late() -> None:
    due = date(2026, 9, 30)
    assert working_days_between(due, due) == 0
    assert working_days_between(due, date(2026, 10, 7)) == 0  # the holiday is not late
    assert working_days_between(due, date(2026, 10, 12)) == 4  # 10-8, 10-9, 10-10, 10-12
    assert working_days_between(date(2026, 10, 12), due) == -4


def test_between_undoes_add() -> None:
    start = date(2025, 1, 1)
    for offset in range(0, 600, 7):
        day = start + timedelta(days=offset)
        for n in (1, 3, 7, 20):
            assert working_days_between(day, add_working_days(day, n)) == n


def test_due_date_names_the_breaks_and_make_up_days_it_went_through() -> None:
    result = due_date(date(2025, 9, 30), 7)

    assert result.due == date(2025, 10, 16)
    assert result.breaks == (Break(date(2025, 10, 1), date(2025, 10, 8), ("国庆节", "中秋节")),)
    assert result.makeup_days == (date(2025, 10, 11),)


def test_due_date_leaves_plain_weekends_out() -> None:
    result = due_date(date(2026, 3, 6), 7)

    assert result.due == date(2026, 3, 17)
    assert result.breaks == ()
    assert result.makeup_days == ()


def test_separate_breaks_are_listed_separately() -> None:
    result = due_date(date(2026, 9, 24), 10)

    # Mid-autumn 9-25 … 9-27, then National Day 10-1 … 10-7; 9-28, 9-29, 9-30, 10-8, 10-9,
    # 10-10 (Sat), 10-12 … 10-15 are the ten.
    assert result.due == date(2026, 10, 15)
    assert [(b.first, b.last, b.holidays) for b in result.breaks] == [
        (date(2026, 9, 25), date(2026, 9, 27), ("中秋节",)),
        (date(2026, 10, 1), date(2026, 10, 7), ("国庆节",)),
    ]
    assert result.makeup_days == (date(2026, 10, 10),)


def test_holiday_names_are_the_ones_people_write() -> None:
    assert holiday_name(date(2026, 6, 19)) == "端午节"
    assert holiday_name(date(2026, 4, 6)) == "清明节"
    assert holiday_name(date(2026, 10, 10)) is None  # a make-up day is a working day
    assert holiday_name(date(2026, 3, 7)) is None  # an ordinary Saturday


def test_a_year_after_the_data_is_refused_by_name() -> None:
    last = known_years()[1]
    with pytest.raises(UnknownHolidayYear) as caught:
        add_working_days(date(last + 1, 3, 2), 7)

    message = str(caught.value)
    assert message.startswith(f"{last + 1} 年的节假日安排尚未收录（chinesecalendar ")
    assert calendar_version() in message
    assert "请升级该软件包" in message
    assert "\n" not in message
    assert caught.value.year == last + 1
    assert isinstance(caught.value, InputError)  # CLI exit 2, HTTP 4xx


def test_a_count_running_into_an_unknown_year_is_refused_not_guessed() -> None:
    last = known_years()[1]
    with pytest.raises(UnknownHolidayYear, match=f"^{last + 1} 年"):
        add_working_days(date(last, 12, 24), 10)
    with pytest.raises(UnknownHolidayYear):
        working_days_between(date(last, 12, 1), date(last + 1, 1, 4))
    with pytest.raises(UnknownHolidayYear):
        is_working_day(date(2099, 6, 1))


def test_a_year_before_the_data_is_refused() -> None:
    with pytest.raises(UnknownHolidayYear, match=r"^2003 年早于节假日数据的范围"):
        is_working_day(date(2003, 10, 8))


def test_the_data_covers_this_release() -> None:
    first, last = known_years()
    assert first <= 2025 and last >= 2026


def test_display_helpers() -> None:
    assert weekday_name(date(2026, 10, 15)) == "星期四"
    assert weekday_name(date(2026, 10, 11)) == "星期日"
    assert span_text(date(2025, 10, 1), date(2025, 10, 8)) == "10月1日–8日"
    assert span_text(date(2025, 1, 28), date(2025, 2, 4)) == "1月28日–2月4日"
    assert span_text(date(2026, 5, 1), date(2026, 5, 1)) == "5月1日"
    assert span_text(date(2010, 12, 31), date(2011, 1, 3)) == "2010年12月31日–2011年1月3日"
