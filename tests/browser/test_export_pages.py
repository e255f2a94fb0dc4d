"""A city's Excel file made in the background: offered, watched on its progress bar, downloaded, in
Debian's chromium."""
import io

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from learning.exports import services
from learning.extensions import db
from tests.browser.conftest import screenshot
from tests.browser.test_pages import log_in

pytestmark = pytest.mark.browser


def test_a_reviewer_watches_a_large_file_being_made_and_downloads_it(page, app, tree, rules, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_DIRECT_MAX_MEMBERS", 3)  # the test committee counts as a city
    log_in(page, "reviewer")
    page.wait_for_url("**/")
    page.goto(f"/admin/points/rankings?org={tree['orgs']['C']}&period=2026Q4")
    page.get_by_role("link", name="下载 Excel").click()
    offer = page.locator("#export-offer")
    expect(offer).to_contain_text("文件较大，将在后台生成")
    screenshot(page, "export-offer")
    offer.get_by_role("button", name="开始生成").click()
    page.wait_for_url("**/admin/exports/*")
    box = page.locator("#export")
    expect(box).to_contain_text("等待开始")
    assert box.get_by_role("link", name="下载").is_hidden()

    with app.app_context():  # the scheduler takes it and has written half of it
        job_id = services._claim_next()
        services.progress_writer(job_id, every=0)(4)
        db.session.remove()
    expect(box.locator("[data-export-text]")).to_have_text("正在生成：已写入 4 行，共约 8 行", timeout=10000)
    assert page.locator("progress").get_attribute("value") == "50"
    screenshot(page, "export-progress")

    with app.app_context():
        services.build(job_id)
        db.session.remove()
    link = box.get_by_role("link", name="下载")
    expect(link).to_be_visible(timeout=10000)
    expect(box.locator("[data-export-text]")).to_have_text("文件已生成。")
    screenshot(page, "export-ready")
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.endswith("-2026Q4.xlsx")
    book = load_workbook(io.BytesIO(open(download.value.path(), "rb").read()), read_only=True)
    assert book.sheetnames[0] == "党员"
    page.goto("/admin/exports/")
    expect(page.locator("#exports")).to_contain_text("排名与评议")
