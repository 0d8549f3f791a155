from datetime import date

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
    assert "1 Jan 2026" in svg and "2 Jan 2026" in svg


def test_an_empty_chart_says_so():
    assert "No data yet." in line_chart(title="t", labels=[], series=[])


def test_many_points_are_drawn_as_lines_alone():
    days = [date(2026, 1, day) for day in range(1, 31)]
    svg = line_chart(title="t", labels=days, series=[Series("Cars", list(range(30)), "count")])

    assert "<circle" not in svg and svg.count("<polyline") == 1
