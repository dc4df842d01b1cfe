"""A guest and the admin on a shared server, in Chromium (webchat/roles.py)."""

from __future__ import annotations

# The fixtures and helpers of the page tests (that module skips itself without Playwright).
from ..support.live import wait_until
from ..support.page import expect, open_chat, send, stored_reply


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


def test_the_admin_lets_guests_use_cloud_models_from_the_sidebar(open_tab, make_server,
                                                                  fake_ollama):
    """The switch is the admin's alone: a guest's page has none, and is refused a cloud
    model until the admin ticks it, then is answered, without a restart."""
    cloud = "gpt-oss:120b-cloud"
    fake_ollama.add_model(cloud, size=384, family="gptoss",
                          remote_host="https://ollama.com:443")
    server = make_server(HOST="0.0.0.0")
    guest = open_tab()
    open_chat(guest, f"{server.url}/?token={server.app.config['ACCESS_TOKEN']}")
    expect(guest.locator("#cloud-guests-field")).to_be_hidden()
    guest.select_option("#model-select", cloud)
    send(guest, "my notes")
    expect(guest.locator(".note-error").last).to_contain_text("ollama.com")

    boss = open_tab()
    open_chat(boss, f"{server.url}/?token={server.app.config['ADMIN_TOKEN']}")
    switch = boss.locator("#cloud-guests")
    expect(switch).not_to_be_checked()
    switch.check()
    assert wait_until(lambda: server.services.guest_cloud.allowed, timeout=10)
    expect(switch).to_be_checked()

    send(guest, "now it may")
    expect(stored_reply(guest).locator(".message-content")).to_have_text(
        "You said: now it may")
    boss.reload()
    expect(boss.locator("#cloud-guests")).to_be_checked()  # what the server holds
