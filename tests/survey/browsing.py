"""Steps the browser tests share: signing in, and answering every part of a form."""

from __future__ import annotations

from collections.abc import Callable

from .staff import PASSWORD


def sign_in_page(page, url: str, email: str, password: str = PASSWORD) -> None:
    """Open the sign-in page ``url`` (with its ``next`` where wanted) and sign in as ``email``."""
    page.goto(url)
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name="Sign in").click()


def answer_every_part(
    page,
    *,
    choice: int,
    progress: str = "Part {part} of 6",
    parts: int = 6,
    on_part: Callable[[int], None] | None = None,
) -> None:
    """Pick the ``choice``-th answer (from 0) of every question, part by part, and go Next.

    Each part's progress text is awaited before the page is touched: a click does not wait for
    the navigation it starts. ``on_part(part)`` runs before Next, for a test's own checks.
    """
    from playwright.sync_api import expect

    for part in range(1, parts + 1):
        expect(page.locator(".progress-text")).to_have_text(progress.format(part=part))
        for fieldset in page.locator("fieldset.item").all():
            fieldset.locator("label.choice").nth(choice).click()
        if on_part is not None:
            on_part(part)
        page.locator("button[value=next]").click()
