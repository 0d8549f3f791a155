"""The catalogue's URL is its state: Back brings back the filters with the results."""

import contextlib
import re
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Playwright, expect

from carsales.catalog.services import car_update
from carsales.conftest import BrandFactory, CarFactory, UserFactory, order_for
from carsales.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE
from carsales.orders.services import cart_for_buyer, cart_item_add


def test_after_back_the_filter_controls_match_the_results_and_the_next_change_keeps_them(page: Page):
    honda, kia = BrandFactory(name="Honda"), BrandFactory(name="Kia")
    CarFactory(brand=honda, model="Civic", value=10_000)
    CarFactory(brand=honda, model="Jazz", value=30_000)
    CarFactory(brand=kia, model="Ceed", value=12_000)
    page.goto("/")

    page.get_by_label("Brand").select_option(label="Honda")
    page.wait_for_url("**brand=honda**")
    page.get_by_label("Min price").fill("20000")
    page.get_by_label("Min price").dispatch_event("change")
    page.wait_for_url("**price_min=20000**")
    expect(page.locator(".card-body h2")).to_have_text(["Honda Jazz"])

    page.go_back()
    page.wait_for_url(lambda url: "price_min=20000" not in url)

    expect(page.get_by_label("Min price")).to_have_value("")
    expect(page.get_by_label("Brand")).to_have_value("honda")
    page.get_by_label("Sort by").select_option("price")
    page.wait_for_url("**ordering=price**")
    query = parse_qs(urlparse(page.url).query, keep_blank_values=True)
    # Only what the buyer chose is in the address they may share: no empty filter.
    assert query.get("brand") == ["honda"] and set(query) == {"brand", "ordering"}  # the page size at its default
    expect(page.locator(".card-body h2")).to_have_text(["Honda Civic", "Honda Jazz"])


def test_a_search_is_one_request_and_one_step_of_history_however_it_is_sent(page: Page):
    CarFactory(brand=BrandFactory(name="Honda"), model="Civic")
    CarFactory(brand=BrandFactory(name="Kia"), model="Ceed")
    page.goto("/")
    steps_before = page.evaluate("history.length")
    searches: list[str] = []
    page.on("request", lambda request: "q=civic" in request.url and searches.append(request.url))

    search = page.get_by_label("Search")
    search.fill("civic")
    page.wait_for_url("**q=civic**")
    expect(page.locator(".card-body h2")).to_have_text(["Honda Civic"])
    page.locator(".card-body h2 a").evaluate("link => { window.shownLink = link; }")
    search.press("Tab")  # leaving the box: a change, the same query
    page.get_by_role("button", name="Search").click()  # and the same query again
    page.wait_for_timeout(600)  # past the search box's 400 ms pause: anything still to send has gone

    assert len(searches) == 1
    # The results under the buyer's pointer were not replaced by a copy (it swallowed their click).
    assert page.locator(".card-body h2 a").evaluate("link => link === window.shownLink")
    assert page.evaluate("history.length") == steps_before + 1
    page.go_back()
    page.wait_for_url(lambda url: "q=" not in url)
    expect(page.locator(".card-body h2")).to_have_count(2)


def test_typing_then_pressing_search_at_once_sends_one_query_and_a_car_opens_at_the_first_click(page: Page):
    CarFactory(brand=BrandFactory(name="Volkswagen"), model="Golf")
    CarFactory(brand=BrandFactory(name="Honda"), model="Civic")
    page.goto("/")
    searches: list[str] = []
    page.on("request", lambda request: "q=Golf" in request.url and searches.append(request.url))

    page.get_by_label("Search").fill("Golf")
    page.get_by_role("button", name="Search").click()  # the box's change and the submit, together
    expect(page.locator(".result-count")).to_have_text("1 car · Clear the filters")
    page.locator(".card-body h2 a").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Volkswagen Golf")
    assert len(searches) == 1


def test_the_search_button_and_enter_send_only_the_filters_chosen_without_reloading(page: Page):
    CarFactory(brand=BrandFactory(name="Honda"), model="Civic", value=10_000)
    CarFactory(brand=BrandFactory(name="Kia"), model="Ceed", value=30_000)
    page.goto("/")
    page.evaluate("window.notReloaded = true")

    page.get_by_label("Max price").fill("20000")
    page.get_by_label("Max price").press("Enter")
    page.wait_for_url("**price_max=20000**")
    page.get_by_role("button", name="Search").click()

    expect(page.locator(".card-body h2")).to_have_text(["Honda Civic"])
    assert set(parse_qs(urlparse(page.url).query, keep_blank_values=True)) == {"price_max"}  # no default either
    assert page.evaluate("window.notReloaded") is True  # htmx swapped the results in


def test_at_log_in_the_cars_that_did_not_fit_in_the_cart_are_named(page: Page):
    from carsales.conftest import UserFactory
    from carsales.orders.services import cart_for_buyer, cart_item_add

    user = UserFactory(username="bea")
    cart_item_add(cart=cart_for_buyer(buyer=user.buyer), car=CarFactory(model="Held"))
    visiting = [CarFactory(model=name) for name in ("Alpha", "Beta", "Gamma")]
    for car in visiting:
        page.goto(f"/cars/{car.pk}/")
        page.get_by_role("button", name="Add to cart").click()
        page.wait_for_load_state()

    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("bea")
    page.get_by_label("Password").fill("pass-word-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()

    warning = page.locator(".message.warning")
    expect(warning).to_contain_text("so these were not added to your cart")
    expect(warning).to_contain_text(str(visiting[2]))


def test_all_cars_on_a_car_page_returns_to_the_results_the_buyer_came_from(page: Page):
    honda = BrandFactory(name="Honda")
    CarFactory(brand=honda, model="Civic", value=10_000)
    CarFactory(brand=BrandFactory(name="Kia"), model="Ceed", value=12_000)
    page.goto("/")
    page.get_by_label("Brand").select_option(label="Honda")
    page.wait_for_url("**brand=honda**")

    page.get_by_role("link", name="Honda Civic").first.click()
    # Loaded, as a buyer reads it: the link is plain until its deferred script points it at the results.
    page.wait_for_url(re.compile(r"/cars/\d+/$"))
    page.get_by_role("link", name="← All cars").click()

    page.wait_for_url("**brand=honda**")
    expect(page.locator(".card-body h2")).to_have_text(["Honda Civic"])
    expect(page.get_by_label("Brand")).to_have_value("honda")


def _until(condition, page: Page, seconds: float = 3) -> None:
    for _ in range(int(seconds * 20)):
        if condition():
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"not reached in {seconds} s")


def test_going_back_to_the_search_shown_while_two_others_are_on_their_way_shows_it(page: Page):
    """The second search replaces the first (hx-sync), whose end must not make the one on its way
    count as done: going back to the shown search then asks it again, and the results match the box."""
    CarFactory(brand=BrandFactory(name="Honda"), model="Civic")
    page.goto("/")
    search = page.get_by_label("Search")
    search.fill("civic")
    page.wait_for_url("**q=civic**")  # the address is the form's query: "civic" is what is shown
    held: list[Any] = []
    page.route(re.compile(r"q=civic(\+|%20)"), lambda route: held.append(route))  # the two in between, kept waiting

    search.fill("civic a")
    _until(lambda: len(held) == 1, page)
    search.fill("civic b")
    _until(lambda: len(held) == 2, page)
    search.fill("civic")
    page.wait_for_timeout(600)  # past the box's pause
    for route in held:
        with contextlib.suppress(PlaywrightError):  # the replaced one was aborted
            route.continue_()

    page.wait_for_timeout(500)  # what the searches let through has answered
    expect(page).to_have_url(re.compile(r"q=civic(&|$)"))
    expect(page.locator(".card-body h2")).to_have_text(["Honda Civic"])
    expect(search).to_have_value("civic")


def test_the_timeline_refreshes_with_the_filters_chosen_since_the_page_opened(page: Page, context, log_in, staff):
    log_in(context, staff)
    page.goto("/staff/timeline/")
    page.get_by_label("Signal", exact=True).fill("order_placed")
    page.wait_for_url("**signal=order_placed**")

    with page.expect_request(lambda request: request.headers.get("hx-trigger") == "chains", timeout=8000) as refresh:
        pass
    assert "signal=order_placed" in refresh.value.url


def test_back_while_a_search_is_on_its_way_goes_back_and_the_late_answer_changes_nothing(page: Page):
    CarFactory(brand=BrandFactory(name="Ford"), model="Focus")
    CarFactory(brand=BrandFactory(name="Honda"), model="Civic")
    page.goto("/")
    search = page.get_by_label("Search")
    search.fill("ford")
    page.wait_for_url("**q=ford**")
    held: list[Any] = []
    page.route(re.compile(r"q=ford(\+|%20)focus"), lambda route: held.append(route))

    search.fill("ford focus")
    _until(lambda: len(held) == 1, page)
    page.go_back()
    page.wait_for_url(lambda url: "q=" not in url)
    expect(page.locator(".card-body h2")).to_have_count(2)
    with contextlib.suppress(PlaywrightError):  # aborted on Back
        held[0].continue_()
    page.wait_for_timeout(500)  # the answer, had it not been dropped, has come

    assert "q=" not in page.url
    expect(page.locator(".card-body h2")).to_have_count(2)
    expect(search).to_have_value("")


def test_back_shows_the_cart_prices_and_account_as_they_are_now_and_the_tab_keeps_no_copy(page: Page, context, log_in):
    """Back to a catalogue state htmx pushed asks the server: a copy kept in the tab showed the
    cart's count, the prices and the account as they were (and on a showroom's shared screen,
    the last person's searches)."""
    golf = CarFactory(brand=BrandFactory(name="Volkswagen"), model="Golf", value=15_000)
    user = UserFactory(first_name="Ana")
    log_in(context, user)
    page.goto("/")
    expect(page.get_by_role("link", name="Cart", exact=True)).to_be_visible()
    page.get_by_label("Sort by").select_option("price")
    page.wait_for_url("**ordering=price**")

    cart_item_add(cart=cart_for_buyer(buyer=user.buyer), car=golf)  # from another tab, say
    car_update(car=golf, value=Decimal("14500"))
    page.go_back()
    page.wait_for_url(lambda url: "ordering" not in url)

    expect(page.get_by_role("link", name="Cart, 1 car").first).to_be_visible()
    expect(page.locator(".card").filter(has_text="Golf")).to_contain_text("$14,500")
    assert page.evaluate("sessionStorage.getItem('htmx-history-cache')") is None


def test_a_timeline_refresh_on_its_way_gives_way_to_a_filter_chosen_meanwhile(page: Page, context, log_in, staff):
    log_in(context, staff)
    page.goto("/staff/timeline/")
    held: list[Any] = []
    failed: list[str] = []
    page.route(re.compile(r"/staff/timeline/"), lambda route: (
        held.append(route) if route.request.headers.get("hx-trigger") == "chains" else route.continue_()
    ))  # fmt: skip
    page.on("requestfailed", lambda request: failed.append(request.url))
    _until(lambda: len(held) == 1, page, seconds=7)  # the first refresh comes within 5 s

    page.get_by_label("Transaction").select_option("no")
    page.wait_for_url("**committed=no**")
    with contextlib.suppress(PlaywrightError):
        held[0].continue_()

    assert failed == [held[0].request.url]  # aborted: its old rows never replace the filtered ones
    expect(page.locator("#chains")).to_contain_text("Nothing recorded that matches yet.")


def test_the_timeline_does_not_refresh_under_a_reader_in_its_table(page: Page, context, log_in, staff):
    log_in(context, staff)
    page.goto("/staff/timeline/")
    refreshes: list[str] = []
    page.on("request", lambda request: request.headers.get("hx-trigger") == "chains" and refreshes.append(request.url))

    page.get_by_role("region", name="Signal chains").focus()
    page.wait_for_timeout(6000)  # past a refresh's 5 s

    assert refreshes == []
    page.get_by_label("Transaction").focus()  # the reader left the table: refreshes go on
    page.wait_for_timeout(5500)
    assert len(refreshes) >= 1


def test_the_address_names_only_what_the_buyer_chose_and_an_unchanged_search_sends_nothing(page: Page):
    CarFactory(brand=BrandFactory(name="Honda"), model="Civic")
    page.goto("/")
    sent: list[str] = []
    page.on("request", lambda request: request.headers.get("hx-request") and sent.append(request.url))

    page.get_by_role("button", name="Search").click()  # nothing chosen: the catalogue already shown
    page.wait_for_timeout(500)
    assert sent == []
    page.get_by_label("Search").fill("civic")
    page.wait_for_url("**q=civic**")

    assert urlparse(page.url).query == "q=civic"  # the sort and the page size at their defaults: left out
    page.get_by_label("Sort by").select_option("price")
    page.wait_for_url("**ordering=price**")
    assert parse_qs(urlparse(page.url).query) == {"q": ["civic"], "ordering": ["price"]}


def test_back_after_logging_out_shows_none_of_the_account_with_the_back_forward_cache_on(
    playwright: Playwright, base_url: str, log_in
):
    """A shared showroom screen: the next person pressing Back finds the log-in page, not the
    order page left there. Chromium keeps pages for Back (its back-forward cache), which
    Playwright turns off by default: on here. A signed-in page is sent no-store (core.security)."""
    user = UserFactory()
    order = order_for(CarFactory(), user=user)
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, ignore_default_args=["--disable-back-forward-cache"]
    )
    try:
        context = browser.new_context(base_url=base_url)
        log_in(context, user)
        page = context.new_page()
        page.goto(f"/orders/{order.pk}/")
        expect(page.get_by_role("heading", name=f"Order #{order.pk}")).to_be_visible()

        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(lambda url: f"/orders/{order.pk}/" not in url)
        page.go_back(wait_until="commit")  # a page restored from the cache fires no load

        expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))  # asked anew: the log-in page
        assert f"Order #{order.pk}" not in page.content()
        expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    finally:
        browser.close()


def _hold_history_restores(page: Page) -> list[Any]:
    held: list[Any] = []

    def hold(route: Any) -> None:
        if route.request.headers.get("hx-history-restore-request"):
            held.append(route)
        else:
            route.continue_()

    page.route(re.compile(r"/\?"), hold)
    page.route(re.compile(r"/$"), hold)
    return held


def _back_held_from(page: Page, *brands: str) -> list[Any]:
    """The catalogue filtered to each brand in turn, then Back pressed and its answer held
    (returned, to let through): what a buyer does while it is on its way is each test's own."""
    page.goto("/")
    for brand in brands:
        page.get_by_label("Brand").select_option(label=brand)
        page.wait_for_url(f"**brand={brand.lower()}**")
    held = _hold_history_restores(page)
    page.go_back()
    _until(lambda: len(held) == 1, page)
    return held


def _let_through(routes: list[Any], page: Page) -> None:
    for route in routes:
        with contextlib.suppress(PlaywrightError):  # the superseded one was aborted
            route.continue_()
    page.wait_for_timeout(500)  # what was let through has answered


def test_a_filter_changed_before_backs_answer_came_is_what_the_page_shows(page: Page):
    """Back asks the server for the page gone back to; a filter the buyer changes before that
    answer comes is the newer choice, and the late answer must not undo it."""
    honda, kia = BrandFactory(name="Honda"), BrandFactory(name="Kia")
    CarFactory(brand=honda, model="Jazz", value=30_000)
    CarFactory(brand=honda, model="Civic", value=10_000)
    CarFactory(brand=kia, model="Ceed", value=12_000)
    held = _back_held_from(page, "Honda")

    page.get_by_label("Sort by").select_option("price")
    page.wait_for_url("**ordering=price**")
    _let_through(held, page)

    assert "ordering=price" in page.url
    expect(page.get_by_label("Sort by")).to_have_value("price")
    expect(page.locator(".card-body h2")).to_have_text(["Honda Civic", "Kia Ceed", "Honda Jazz"])


def test_back_twice_before_the_first_answer_came_shows_the_page_gone_back_to(page: Page):
    honda, kia = BrandFactory(name="Honda"), BrandFactory(name="Kia")
    CarFactory(brand=honda, model="Civic")
    CarFactory(brand=kia, model="Ceed")
    held = _back_held_from(page, "Honda", "Kia")

    page.go_back()
    _until(lambda: len(held) == 2, page)
    _let_through(held[1:] + held[:1], page)  # the page gone back to answers first, the superseded one last

    assert "brand=" not in page.url
    expect(page.get_by_label("Brand")).to_have_value("")
    expect(page.locator(".card-body h2")).to_have_count(2)


def test_a_search_typed_before_backs_answer_came_is_what_the_page_shows(page: Page):
    """Typed, a search waits for the box's pause before it is sent: Back's answer landing in that
    pause must not wipe the box and the search with it."""
    CarFactory(brand=BrandFactory(name="Honda"), model="Civic")
    CarFactory(brand=BrandFactory(name="Kia"), model="Ceed")
    held = _back_held_from(page, "Honda")

    page.get_by_label("Search").press_sequentially("ceed")
    _let_through(held, page)  # within the box's pause

    page.wait_for_url("**q=ceed**")
    expect(page.get_by_label("Search")).to_have_value("ceed")
    expect(page.locator(".card-body h2")).to_have_text(["Kia Ceed"])


def test_a_search_typed_and_erased_before_backs_answer_came_leaves_the_page_gone_back_to(page: Page):
    honda, kia = BrandFactory(name="Honda"), BrandFactory(name="Kia")
    CarFactory(brand=honda, model="Civic")
    CarFactory(brand=kia, model="Ceed")
    held = _back_held_from(page, "Honda")

    page.get_by_label("Search").press_sequentially("x")
    page.get_by_label("Search").press("Backspace")
    _let_through(held, page)

    assert "brand=" not in page.url and "q=" not in page.url
    expect(page.get_by_label("Brand")).to_have_value("")
    expect(page.locator(".card-body h2")).to_have_count(2)


@pytest.mark.parametrize("opened", [True, False], ids=["opened", "left folded"])
def test_the_filters_script_runs_once_a_page_and_back_leaves_the_filters_folded_as_they_were(new_context, opened):
    """Back swaps the body the server sends: a script in it would run again, each time adding its
    handlers once more; the page's scripts are in its head. On a phone, "More filters" comes back
    open or folded as the buyer left it."""
    CarFactory(brand=BrandFactory(name="Honda"), model="Civic", fuel="diesel")
    page = new_context(viewport=PHONE).new_page()
    page.add_init_script(
        "window.restoreHandlers = 0; var add = EventTarget.prototype.addEventListener;"
        "EventTarget.prototype.addEventListener = function (type) {"
        "  if (type === 'htmx:historyCacheMiss') window.restoreHandlers++; return add.apply(this, arguments); };"
    )
    page.goto("/")
    page.get_by_text("More filters").click()
    page.get_by_label("Fuel").select_option(label="Diesel")
    page.wait_for_url("**fuel=diesel**")
    if not opened:
        page.get_by_text("More filters").click()
        expect(page.get_by_label("Fuel")).to_be_hidden()

    page.go_back()
    page.wait_for_url(lambda url: "fuel" not in url)

    expect(page.locator("details.more-filters")).to_have_js_property("open", opened)
    expect(page.get_by_label("Fuel")).to_have_value("")
    assert page.evaluate("window.restoreHandlers") == 1


def test_back_on_the_signal_timeline_shows_the_whole_page(page: Page, context, log_in, staff):
    """The timeline answers an htmx request with its list alone; Back's request for the page is
    one too, and must get the page, not the list as the whole body."""
    log_in(context, staff)
    page.goto("/staff/timeline/")
    page.get_by_label("Signal", exact=True).fill("order_placed")
    page.wait_for_url("**signal=order_placed**")

    page.go_back()
    page.wait_for_url(lambda url: "signal=" not in url)

    expect(page.get_by_role("heading", name="Signal timeline")).to_be_visible()
    expect(page.get_by_label("Signal", exact=True)).to_have_value("")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
