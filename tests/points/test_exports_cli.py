"""`learning periods` and `learning rankings export`: the files carry the right numbers."""
import csv
import io
from datetime import datetime, timezone

import sqlalchemy as sa
from openpyxl import load_workbook

from learning.orgs.models import Member
from learning.points import services
from learning.points.models import SnapshotMember


def at(y, m, d):
    return datetime(y, m, d, 4, tzinfo=timezone.utc)


def seed(db, tree):
    """Q3 2026: 王党员 10, 李书记 5; 二支部's 钱二支 5."""
    for key, count in (("b1_member", 2), ("b1_secretary", 1), ("b2_member", 1)):
        member = db.session.get(Member, tree["members"][key])
        for i in range(count):
            services.award("meeting_attended", member=member, source_key=f"{key}:{i}", occurred_at=at(2026, 8, 3 + i))
    db.session.commit()


def test_close_verify_and_export_xlsx(runner, db, tree, rules, tmp_path):
    seed(db, tree)
    closed = runner.invoke(args=["periods", "close", "2026Q3"])
    assert closed.exit_code == 0, closed.output
    assert "Closed 2026Q3" in closed.output and "4 ledger rows" in closed.output
    again = runner.invoke(args=["periods", "close", "2026Q3"])
    assert "Already closed" in again.output
    assert runner.invoke(args=["periods", "verify", "2026Q3"]).exit_code == 0

    out = tmp_path / "q3.xlsx"
    result = runner.invoke(args=["rankings", "export", "--period", "2026Q3", "--org", "C", "--format", "xlsx", "-o", str(out)])
    assert result.exit_code == 0, result.output
    workbook = load_workbook(out)
    assert workbook.sheetnames == ["党员", "党支部", "加分与扣分"]
    members = workbook["党员"]
    checksum = db.session.scalar(sa.text("SELECT checksum FROM point_snapshot"))
    assert checksum in members["A2"].value
    assert [c.value for c in members[4]][:6] == ["排名", "姓名", "组织", "身份", "积分", "百分位"]
    rows = [[c.value for c in row] for row in members.iter_rows(min_row=5)]
    assert rows[0][:5] == [1, "王党员", "一支部", "正式党员", 10]
    assert rows[1][:5] == [2, "李书记", "一支部", "正式党员", 5]
    assert rows[2][0] == 2 and rows[2][4] == 5  # 钱二支 ties with 李书记
    assert len(rows) == 7  # the committee's full and probationary members (two activists are not appraised)
    branches = workbook["党支部"]
    branch_rows = {r[1]: r for r in ([c.value for c in row] for row in branches.iter_rows(min_row=5))}
    assert set(branch_rows) == {"一支部", "二支部", "三支部"}
    assert branch_rows["一支部"][2:5] == [3, 2, 66.7]  # 3 appraised, 2 with points, 66.7 %


def test_verify_fails_loudly_on_a_tampered_snapshot(runner, db, tree, rules):
    seed(db, tree)
    runner.invoke(args=["periods", "close", "2026Q3"])
    db.session.execute(sa.update(SnapshotMember).where(SnapshotMember.points == 10).values(points=11))
    db.session.commit()
    result = runner.invoke(args=["periods", "verify", "2026Q3"])
    assert result.exit_code == 1 and "does not match the ledger" in result.output


def test_export_csv_of_a_live_period(runner, db, tree, rules, tmp_path):
    seed(db, tree)
    out = tmp_path / "q3.csv"
    result = runner.invoke(args=["rankings", "export", "--period", "2026Q3", "--org", "B1", "--format", "csv", "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert "实时数据" in rows[0][0]
    assert rows[1][:2] == ["排名", "姓名"] and rows[2][:2] == ["1", "王党员"]


def test_bad_export_arguments(runner, db, tree, rules, tmp_path):
    bad_period = runner.invoke(args=["rankings", "export", "--period", "2026Q9", "--org", "C", "-o", str(tmp_path / "x")])
    assert bad_period.exit_code == 2 and "2026Q9" in bad_period.output
    bad_org = runner.invoke(args=["rankings", "export", "--period", "2026Q3", "--org", "NOPE", "-o", str(tmp_path / "x")])
    assert bad_org.exit_code == 2 and "NOPE" in bad_org.output
    early = runner.invoke(args=["periods", "close", "2099Q1"])
    assert early.exit_code == 1 and "2099Q1 截至 2099-03-31，次日起方可封存。" in early.output
