"""Roster import from CSV and XLSX with Chinese headers: dry run, apply, idempotency, row errors."""
from openpyxl import Workbook
from sqlalchemy import func, select

from learning.orgs.models import Member, Organisation

ORGS = """组织编号,组织名称,组织类别,上级组织编号,联合党支部
P-B1,园区第一党支部,党支部,P-C,否
P-C,中共示范园区委员会,党委,,否
P-G1,第一党小组,党小组,P-B1,
P-B2,园区联合党支部,党支部,P-C,是
"""

MEMBERS = """党员编号,姓名,所在党组织编号,人员类别,入党日期
P-M1,张三,P-B1,正式党员,2001-07-01
P-M2,李四,P-G1,预备党员,2026-03-15
P-M3,王五,P-B2,入党积极分子,
"""


def write(tmp_path, name, text, encoding="utf-8-sig"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def counts(db):
    return (db.session.scalar(select(func.count()).select_from(Organisation)),
            db.session.scalar(select(func.count()).select_from(Member)))


def test_dry_run_then_apply_then_nothing_to_do(runner, db, tmp_path):
    orgs, members = write(tmp_path, "orgs.csv", ORGS), write(tmp_path, "members.csv", MEMBERS)
    dry = runner.invoke(args=["registry", "import", str(orgs)])
    assert dry.exit_code == 0 and "Dry run" in dry.output and "4 to be created" in dry.output
    assert counts(db) == (0, 0)
    assert runner.invoke(args=["registry", "import", str(orgs), "--apply"]).exit_code == 0
    c = db.session.scalar(select(Organisation).where(Organisation.external_id == "P-C"))
    g1 = db.session.scalar(select(Organisation).where(Organisation.external_id == "P-G1"))
    assert g1.path.startswith(c.path) and g1.depth == 2
    assert db.session.scalar(select(Organisation.joint).where(Organisation.external_id == "P-B2")) is True

    applied = runner.invoke(args=["registry", "import", str(members), "--apply"])
    assert applied.exit_code == 0 and "3 created" in applied.output
    assert counts(db) == (4, 3)
    again = runner.invoke(args=["registry", "import", str(members), "--apply"])
    assert "0 created, 0 updated, 0 deactivated, 3 unchanged" in again.output
    again_orgs = runner.invoke(args=["registry", "import", str(orgs), "--apply"])
    assert "0 created, 0 updated" in again_orgs.output


def test_updates_transfers_and_deactivations(runner, db, tmp_path):
    runner.invoke(args=["registry", "import", str(write(tmp_path, "o.csv", ORGS)), "--apply"])
    runner.invoke(args=["registry", "import", str(write(tmp_path, "m.csv", MEMBERS)), "--apply"])
    changed = """党员编号,姓名,所在党组织编号,人员类别,入党日期
P-M1,张三,P-B2,正式党员,2001-07-01
P-M2,李四,P-G1,正式党员,2026-03-15
"""
    dry = runner.invoke(args=["registry", "import", str(write(tmp_path, "m2.csv", changed))])
    assert "2 to be updated, 1 to be deactivated" in dry.output
    runner.invoke(args=["registry", "import", str(write(tmp_path, "m2.csv", changed)), "--apply"])
    m1 = db.session.scalar(select(Member).where(Member.external_id == "P-M1"))
    m3 = db.session.scalar(select(Member).where(Member.external_id == "P-M3"))
    assert m1.organisation.external_id == "P-B2" and m3.active is False


def test_bad_rows_are_reported_by_number_and_nothing_is_written(runner, db, tmp_path):
    runner.invoke(args=["registry", "import", str(write(tmp_path, "o.csv", ORGS)), "--apply"])
    bad = """党员编号,姓名,所在党组织编号,人员类别,入党日期
P-M1,张三,P-B1,正式党员,2001-07-01
P-M2,,P-B1,正式党员,
P-M3,王五,P-NOPE,正式党员,
P-M1,张三二,P-B1,党员,1999-13-01
"""
    result = runner.invoke(args=["registry", "import", str(write(tmp_path, "bad.csv", bad)), "--apply"])
    assert result.exit_code == 1
    assert "第 3 行: 姓名 为空" in result.output
    assert "第 4 行: 所在党组织编号 'P-NOPE' 不是已有的组织" in result.output
    assert "第 5 行: 党员编号 P-M1 与第 2 行重复" in result.output
    assert "第 5 行: 人员类别 '党员' 不是以下之一" in result.output and "第 5 行: 入党日期 '1999-13-01' 不是日期" in result.output
    assert counts(db)[1] == 0


def test_xlsx_and_gb18030_files(runner, db, tmp_path):
    runner.invoke(args=["registry", "import", str(write(tmp_path, "o.csv", ORGS, encoding="gb18030")), "--apply"])
    assert counts(db)[0] == 4
    workbook = Workbook()
    sheet = workbook.active
    for line in MEMBERS.strip().splitlines():
        sheet.append(line.split(","))
    path = tmp_path / "members.xlsx"
    workbook.save(path)
    result = runner.invoke(args=["registry", "import", str(path), "--apply"])
    assert result.exit_code == 0, result.output
    assert counts(db)[1] == 3


def test_unknown_columns_and_formats(runner, db, tmp_path):
    result = runner.invoke(args=["registry", "import", str(write(tmp_path, "x.csv", "a,b\n1,2\n"))])
    assert result.exit_code == 1 and "unknown columns" in result.output
    result = runner.invoke(args=["registry", "import", str(write(tmp_path, "x.txt", "a"))])
    assert result.exit_code == 1 and ".csv or .xlsx" in result.output


def test_upload_in_the_admin_area_checks_then_applies(client, db, tree):
    import io

    from tests.conftest import csrf_token, login
    from tests.factories import PASSWORD

    login(client, "root", PASSWORD)
    token = csrf_token(client, "/admin/registry/roster")
    checked = client.post("/admin/registry/roster", data={"csrf_token": token, "file": (io.BytesIO(ORGS.encode()), "orgs.csv")},
                          content_type="multipart/form-data")
    html = checked.get_data(as_text=True)
    assert checked.status_code == 200 and '<span class="stat-value" id="to-create">4</span>' in html
    assert db.session.scalar(select(func.count()).select_from(Organisation).where(Organisation.external_id.like("P-%"))) == 0
    upload = html.split('name="upload" value="')[1].split('"')[0]
    applied = client.post("/admin/registry/roster", data={"csrf_token": token, "upload": upload}, follow_redirects=True)
    assert "名册已导入：新增 4" in applied.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Organisation).where(Organisation.external_id.like("P-%"))) == 4
    again = client.post("/admin/registry/roster", data={"csrf_token": token, "upload": upload}, follow_redirects=True)
    assert "该上传已失效" in again.get_data(as_text=True)  # one file, applied once

    bad = client.post("/admin/registry/roster", data={"csrf_token": token, "file": (io.BytesIO(b"x"), "roster.pdf")},
                      content_type="multipart/form-data", follow_redirects=True)
    assert "名册须为 .csv 或 .xlsx 文件" in bad.get_data(as_text=True)
    rows = "党员编号,姓名,所在党组织编号,人员类别\nP-M1,,P-NOPE,正式党员\n"
    problems = client.post("/admin/registry/roster", data={"csrf_token": token, "file": (io.BytesIO(rows.encode()), "m.csv")},
                           content_type="multipart/form-data").get_data(as_text=True)
    assert "发现 2 个问题" in problems and "姓名 为空" in problems
