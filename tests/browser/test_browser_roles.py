"""A guest and the admin on a shared server, in Chromium (webchat/roles.py)."""

from __future__ import annotations

# The fixtures and helpers of the page tests (that module skips itself without Playwright).
from ..support.page import expect, open_chat


def test_a_guest_sees_pull_and_delete_disabled_and_the_admin_link_gives_them_back(
        page, make_server, fake_ollama):
    server = make_server(HOST="0.0.0.0")
    open_chat(page, f"{server.url}/?token={server.app.config['ACCESS_TOKEN']}")
    expect(page.locator("#pull-name")).to_be_disabled()
    expect(page.locator("#pull-button")).to_be_disabled()
    expect(page.locator("[data-testid=pull-locked]")).to_contain_text("Only the admin")
    page.locator("#installed-models li[data-model='gemma3:270m'] "
                 ".model-details-button").click()
    expect(page.locator("#model-delete")).to_be_disabled()
    expect(page.locator("[data-testid=model-delete-locked]")).to_contain_text("admin link")
    page.keyboard.press("Escape")
    fake_ollama.pull_delay = 0.5  # a download the admin started elsewhere
    server.services.pulls.start("slow:7b")
    cancel = page.get_by_role("button", name="Cancel downloading slow:7b")
    expect(cancel).to_be_disabled()
    server.services.pulls.cancel_all()
    fake_ollama.pull_delay = 0.01

    open_chat(page, f"{server.url}/?token={server.app.config['ADMIN_TOKEN']}")
    expect(page.locator("#pull-name")).to_be_enabled()
    expect(page.locator("[data-testid=pull-locked]")).to_be_hidden()
    page.fill("#pull-name", "newmodel:1b")
    page.click("#pull-button")
    expect(page.locator("#installed-models li[data-model='newmodel:1b']")).to_have_count(
        1, timeout=10000)
    page.locator("#installed-models li[data-model='newmodel:1b'] "
                 ".model-details-button").click()
    expect(page.locator("#model-delete")).to_be_enabled()
