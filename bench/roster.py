"""Import a city roster (14,000 organisations, 220,000 members) from CSV and time it.

Writes the two files with bench/generate_city.py's shape, then runs the import as
`learning registry import` does: organisations (apply), members (dry run, apply, apply again).
Use an empty database:

    createdb -h 127.0.0.1 -U postgres learning_roster
    LEARNING_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/learning_roster .venv/bin/python bench/roster.py
"""
from __future__ import annotations

import csv
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_city import build  # noqa: E402

from learning import create_app  # noqa: E402
from learning.extensions import db  # noqa: E402
from learning.registry.roster import import_roster  # noqa: E402

KINDS = {"committee": "党委", "general_branch": "党总支", "branch": "党支部", "group": "党小组"}
STATUSES = {"full": "正式党员", "probationary": "预备党员", "activist": "入党积极分子", "candidate": "发展对象"}


def write_files(folder: Path) -> tuple[Path, Path]:
    orgs, members = build(14_000, 220_000)
    by_id = {o["id"]: o for o in orgs}
    org_file, member_file = folder / "organisations.csv", folder / "members.csv"
    with org_file.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["组织编号", "组织名称", "组织类别", "上级组织编号", "联合党支部"])
        for o in orgs:
            parent = by_id[o["parent_id"]]["external_id"] if o["parent_id"] else ""
            writer.writerow([o["external_id"], o["name"], KINDS[o["kind"]], parent, "否"])
    with member_file.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["党员编号", "姓名", "所在党组织编号", "人员类别", "入党日期"])
        for m in members:
            writer.writerow([m["external_id"], m["name"], by_id[m["organisation_id"]]["external_id"],
                             STATUSES[m["status"]], m["joined_on"].isoformat()])
    return org_file, member_file


def timed(label, fn):
    started = time.perf_counter()
    report = fn()
    elapsed = time.perf_counter() - started
    print(f"{label:34} {elapsed:7.1f} s  created {len(report.created):>7,}  updated {len(report.updated):>6,}  "
          f"unchanged {report.unchanged:>7,}  problems {len(report.problems)}")
    return report


def main():
    app = create_app()
    with app.app_context(), tempfile.TemporaryDirectory() as folder:
        db.create_all()
        org_file, member_file = write_files(Path(folder))
        timed("organisations, apply", lambda: import_roster(org_file, apply=True))
        timed("members, dry run", lambda: import_roster(member_file))
        timed("members, apply", lambda: import_roster(member_file, apply=True))
        timed("members, apply again (no change)", lambda: import_roster(member_file, apply=True))


if __name__ == "__main__":
    main()
