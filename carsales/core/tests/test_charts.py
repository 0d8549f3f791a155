import re
from datetime import UTC, date

from carsales.core.charts import Series, line_chart


def test_a_chart_of_one_day_shows_each_series_point_in_the_middle_one_around_the_other_and_the_day_once():
    series = [Series("Sales", [3], "count"), Series("Revenue", [9000], "value")]
    svg = line_chart(title="t", labels=[date(2026, 1, 1)], series=series)

    assert svg.count("<circle") == 2 and "Sales (max 3)" in svg
    assert '<circle class="dot count" cx="320.0" cy="36.0" r="3"/>' in svg
    assert '<circle class="dot ring value" cx="320.0" cy="36.0" r="6"/>' in svg  # around it, not hidden by it
    assert svg.count("1 Jan 2026") == 1 and 'text-anchor="middle"' in svg


def test_each_series_is_scaled_to_its_own_maximum():
    svg = line_chart(
        title="t",
        labels=[date(2026, 1, 1), date(2026, 1, 2)],
        series=[Series("Cars", [1, 2], "count"), Series("Value", [1000, 2000], "value")],
    )

    assert svg.count('points="36.0,110.0 604.0,36.0"') == 2
    # The second drawn dashed over the first, which its own scale draws the same: both seen.
    assert '<polyline class="line count" points=' in svg and '<polyline class="line value over" points=' in svg
    assert "1 Jan 2026" in svg and "2 Jan 2026" in svg


def test_an_empty_chart_says_so():
    assert "No data yet." in line_chart(title="t", labels=[], series=[])


def test_many_points_are_drawn_as_lines_alone():
    days = [date(2026, 1, day) for day in range(1, 31)]
    svg = line_chart(title="t", labels=days, series=[Series("Cars", list(range(30)), "count")])

    assert "<circle" not in svg and svg.count("<polyline") == 1


def test_points_stand_at_their_time_and_a_money_series_says_its_maximum_as_a_price():
    from datetime import datetime, timedelta

    start = datetime(2026, 1, 1, tzinfo=UTC)
    moments = [start, start + timedelta(minutes=1), start + timedelta(days=10)]  # a burst, then a quiet week
    svg = line_chart(title="t", labels=moments, series=[Series("Value", [1000, 2000, 3000], "value", money=True)])

    xs = [float(x) for x in re.findall(r'<circle class="dot value" cx="([\d.]+)"', svg)]
    assert xs[0] == 36.0 and xs[1] < 37.0 and xs[2] == 604.0  # not a third of the width each
    assert "Value (max $3,000)" in svg


def test_a_series_of_zeros_says_its_maximum_is_zero_and_lies_along_the_bottom():
    svg = line_chart(title="t", labels=[date(2026, 1, 1)], series=[Series("Revenue", [0], "value", money=True)])

    assert "Revenue (max $0)" in svg and 'cy="184.0"' in svg


def test_points_out_of_time_order_stay_inside_the_chart():
    from datetime import datetime, timedelta

    start = datetime(2026, 1, 1, tzinfo=UTC)
    moments = [start, start + timedelta(days=3), start - timedelta(seconds=2), start + timedelta(days=1)]
    svg = line_chart(title="t", labels=moments, series=[Series("Cars", [1, 2, 3, 4], "count")])

    xs = [float(x) for x in re.findall(r'<circle class="dot count" cx="([\d.]+)"', svg)]
    assert all(36.0 <= x <= 604.0 for x in xs) and min(xs) == 36.0 and max(xs) == 604.0
