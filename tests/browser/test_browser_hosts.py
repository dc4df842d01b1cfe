"""Several Ollama hosts in the page (Chromium): the picker pins a host, the sidebar groups
the loaded models by host, unloads on one host, and shows a host that is down."""

from __future__ import annotations

import pytest

from ..support.fake_ollama import FakeOllama
from ..support.live import LiveServer

# The fixtures and helpers of the page tests (that module skips itself without Playwright).
from .test_browser import MODEL, expect, send, stored_reply
from .test_browser_app import AXE, serious_violations


def test_two_hosts_in_the_sidebar_and_unload_on_one(engine, tmp_path):
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: scripts/test.sh installs it with npm")
    context = engine.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(path=str(AXE))  # a test-only tool: the grouped list is checked
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    gpu = FakeOllama().start()
    nas = FakeOllama()
    nas.remove_model("tiny-assistant:latest")
    nas.start()
    server = LiveServer(tmp_path / "data", f"gpu={gpu.url},nas={nas.url}")
    try:
        page.goto(server.url)
        expect(page.locator("#connection-status")).to_have_text("Connected")
        expect(page.locator(f"#model-select option[value='{MODEL}@nas']")).to_have_text(
            f"{MODEL} on nas")
        page.select_option("#model-select", f"{MODEL}@nas")
        send(page, "hello")
        expect(stored_reply(page).locator(".stats")).to_contain_text("on nas")
        page.select_option("#model-select", f"{MODEL}@gpu")
        send(page, "again")
        expect(stored_reply(page).locator(".stats")).to_contain_text("on gpu")

        loaded = page.locator("#loaded-models")
        expect(loaded.locator(".host-group")).to_have_text([
            "gpu", "nas"])
        on_nas = loaded.locator(f"li.loaded-item[data-host='nas'][data-model='{MODEL}']")
        on_gpu = loaded.locator(f"li.loaded-item[data-host='gpu'][data-model='{MODEL}']")
        expect(on_nas).to_contain_text("100% CPU")
        expect(on_gpu).to_contain_text("expires")
        on_nas.locator(".unload-button").click()
        expect(on_nas).to_have_count(0)
        expect(on_gpu).to_have_count(1)
        assert nas.loaded_names() == [] and gpu.loaded_names() == [MODEL]
        expect(loaded.locator(".host-group[data-host='nas']")).to_contain_text(
            "nothing loaded")

        nas.stop()  # a host that is down is shown as down; the other goes on
        page.click("#refresh-loaded")
        expect(loaded.locator(".host-group[data-host='nas']")).to_contain_text("down")
        expect(on_gpu).to_have_count(1)
        assert serious_violations(page) == []  # the host headings, pinned picker, down host
        assert errors == []
    finally:
        context.close()
        server.stop()
        gpu.stop()
        nas.stop()
