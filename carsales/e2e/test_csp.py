"""Under the Content Security Policy, pages log no violation in the browser: nothing they need is blocked."""

from typing import Any

from playwright.sync_api import BrowserContext, ConsoleMessage, Page


def csp_violations(page: Page, url: str) -> list[str]:
    """Open `url` and return the browser's console reports of anything the policy blocked."""
    messages: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            messages.append(message.text)

    page.on("console", record)
    page.goto(url)
    page.wait_for_load_state("networkidle")
    page.remove_listener("console", record)
    return messages


def test_the_catalogue_logs_no_csp_violation(page: Page, shop: dict[str, Any]):
    assert csp_violations(page, "/") == []


def test_the_api_docs_log_no_csp_violation(page: Page):
    assert csp_violations(page, "/api/docs/") == []
    assert page.locator(".swagger-ui .info .title").first.inner_text().startswith("carsales API")


def test_the_admin_logs_no_csp_violation(shop: dict[str, Any], context: BrowserContext, log_in):
    log_in(context, shop["staff"])
    page = context.new_page()

    for url in ["/admin/", "/admin/catalog/car/", f"/admin/catalog/car/{shop['cars'][0].pk}/change/"]:
        assert csp_violations(page, url) == [], url
