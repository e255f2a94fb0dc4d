"""Installable as an app: the manifest and its icons, a service worker that caches the shell, and the
offline page when the phone has no network."""
from tests.browser.conftest import screenshot
from tests.browser.test_pages import log_in


def test_the_app_installs_and_opens_offline(page, tree):
    manifest = page.request.get("/manifest.webmanifest")
    assert manifest.ok and manifest.headers["content-type"].startswith("application/manifest+json")
    data = manifest.json()
    assert data["display"] == "standalone" and data["start_url"] == "/" and data["name"] == "党员学习"
    for icon in data["icons"]:
        fetched = page.request.get(icon["src"])
        assert fetched.ok and fetched.headers["content-type"].split(";")[0] == icon["type"], icon
    log_in(page, "member")
    page.wait_for_url("**/")
    assert page.locator("link[rel=manifest]").get_attribute("href") == "/manifest.webmanifest"
    state = page.evaluate("navigator.serviceWorker.ready.then(r => r.active && r.active.scriptURL)")
    assert state.endswith("/sw.js")
    page.reload()
    assert page.evaluate("navigator.serviceWorker.controller !== null")
    cached = page.evaluate("caches.keys().then(keys => Promise.all(keys.map(k => caches.open(k).then(c => c.keys()))))"
                           ".then(lists => lists.flat().map(r => new URL(r.url).pathname))")
    assert {"/static/css/app.css", "/static/js/app.js", "/offline"} <= set(cached)

    page.context.set_offline(True)
    page.goto("/courses/")
    assert "当前处于离线状态" in page.locator("#offline").inner_text()
    assert page.evaluate("getComputedStyle(document.querySelector('.button')).display") != ""  # the cached style
    screenshot(page, "pwa-offline")
    page.context.set_offline(False)
    page.goto("/")
    assert page.locator("#offline").count() == 0
