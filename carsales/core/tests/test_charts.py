from datetime import date

from carsales.core.charts import Series, line_chart


def test_a_chart_of_one_day_still_shows_its_point():
    svg = line_chart(title="t", labels=[date(2026, 1, 1)], series=[Series("Sales", [3], "count")])

    assert svg.count("<circle") == 1 and "Sales (max 3)" in svg


def test_each_series_is_scaled_to_its_own_maximum():
    svg = line_chart(
        title="t",
        labels=[date(2026, 1, 1), date(2026, 1, 2)],
        series=[Series("Cars", [1, 2], "count"), Series("Value", [1000, 2000], "value")],
    )

    assert svg.count('points="36.0,110.0 604.0,36.0"') == 2


def test_an_empty_chart_says_so():
    assert "No data yet." in line_chart(title="t", labels=[], series=[])
