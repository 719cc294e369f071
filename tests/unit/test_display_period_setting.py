"""Display periods (issue 13): the setting, its default and its range, and what is over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from publisher import display
from publisher.cli import main
from publisher.errors import ConfigError
from publisher.settings import load_settings


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize(
    ("periods", "says"),
    [
        ({"general": 30}, "公示期 30 天超出范围，应为 90 到 1095 天"),
        ({"general": 1200}, "公示期 1200 天超出范围"),
        ({"penalty_disclosure": 200}, "安全生产行政处罚公示期不少于 365 天"),
        ({"penalties": 365}, "未知的通知类型 'penalties'"),
        ({"general": "一年"}, "公示期应为天数"),
    ],
)
def test_a_period_outside_the_range_is_refused(periods: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        load_settings(display_periods=periods)


@pytest.mark.usefixtures("clean_env")
def test_the_default_is_a_year_for_penalties() -> None:
    assert load_settings().display_periods == {"penalty_disclosure": 365}
    assert load_settings(display_periods={"general": 1095}).display_periods == {
        "penalty_disclosure": 365,
        "general": 1095,
    }


def test_over_is_counted_from_the_time_the_page_went_live() -> None:
    posted = datetime(2026, 1, 1, tzinfo=UTC)
    periods = {"penalty_disclosure": 365}
    end = posted + timedelta(days=365)
    assert not display.is_over("penalty_disclosure", posted, periods, end - timedelta(seconds=1))
    assert display.is_over("penalty_disclosure", posted, periods, end)
    assert not display.is_over("general", posted, periods, end + timedelta(days=9999))


@pytest.mark.usefixtures("clean_env")
def test_a_bad_period_in_the_config_file_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PUBLISHER_CONFIG", "publisher.toml")  # restored after the test
    with open("publisher.toml", "w", encoding="utf-8") as f:
        f.write("display_periods = { general = 30 }\n")
    done = CliRunner().invoke(main, ["notice", "show", "1"])
    assert done.exit_code == 2, done.output
    assert "公示期 30 天超出范围" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
