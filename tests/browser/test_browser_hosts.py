"""Several Ollama hosts in the page (Chromium): the picker pins a host, the sidebar groups
the loaded models by host, unloads on one host, and shows a host that is down."""

from __future__ import annotations

import pytest

from ..support.fake_ollama import FakeOllama

# The fixtures and helpers of the page tests (that module skips itself without Playwright).
from ..support.page import AXE, MODEL, expect, send, serious_violations, stored_reply


def test_two_hosts_in_the_sidebar_and_unload_on_one(open_tab, make_server):
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: scripts/test.sh installs it with npm")
    page = open_tab(init_script=str(AXE))  # a test-only tool: the grouped list is checked
    gpu = FakeOllama().start()
    nas = FakeOllama()
    nas.remove_model("tiny-assistant:latest")
    nas.start()
    server = make_server(ollama_url=f"gpu={gpu.url},nas={nas.url}")
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
    finally:
        server.stop()
        gpu.stop()
        nas.stop()
