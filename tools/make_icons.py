"""Render the app icon (static/favicon.svg) to the PNG sizes the web app manifest names, with Debian's
chromium through Playwright.  Run once after changing the icon: python tools/make_icons.py"""
from pathlib import Path

from playwright.sync_api import sync_playwright

STATIC = Path(__file__).resolve().parent.parent / "learning" / "static"
SVG = (STATIC / "favicon.svg").read_text(encoding="utf-8")

with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium")
    for size, name in ((192, "icon-192.png"), (512, "icon-512.png"), (180, "apple-touch-icon.png")):
        page = browser.new_page(viewport={"width": size, "height": size})
        svg = SVG.replace("<svg ", f'<svg width="{size}" height="{size}" ', 1)
        page.set_content(f"<html><body style='margin:0;background:transparent'>{svg}</body></html>")
        page.screenshot(path=str(STATIC / "icons" / name), omit_background=True,
                        clip={"x": 0, "y": 0, "width": size, "height": size})
        page.close()
    browser.close()
