"""Generate a city-scale organisation tree and membership into an empty database.

Shape (about): 1 city committee → 40 district/company committees → 1,200 general branches and
branches → 12,700 groups and branches below, 14,000 organisations in all, 220,000 members.
Ids and paths are computed here and rows inserted in bulk, so a city loads in seconds rather
than through 234,000 service calls.
"""
from __future__ import annotations

import argparse
import random
import time
from datetime import date

from sqlalchemy import insert

from learning import create_app
from learning.db import utcnow
from learning.extensions import db
from learning.orgs.models import Member, Organisation


def build(orgs_target: int, members_target: int, seed: int = 7):
    rng = random.Random(seed)
    now = utcnow()
    orgs: list[dict] = []

    def add(name, kind, parent):
        oid = len(orgs) + 1
        path = (parent["path"] if parent else "/") + f"{oid}/"
        row = {
            "id": oid, "name": name, "kind": kind, "parent_id": parent["id"] if parent else None,
            "path": path, "depth": (parent["depth"] + 1) if parent else 0, "external_id": f"ORG{oid:06d}",
            "joint": False, "active": True, "created_at": now, "updated_at": now,
        }
        orgs.append(row)
        return row

    city = add("市委", "committee", None)
    committees = [add(f"第{i + 1}区党委", "committee", city) for i in range(40)]
    branches = []
    while len(orgs) < orgs_target:
        committee = rng.choice(committees)
        if rng.random() < 0.25:
            general = add(f"党总支{len(orgs)}", "general_branch", committee)
            for _ in range(rng.randint(2, 6)):
                branches.append(add(f"党支部{len(orgs)}", "branch", general))
        else:
            branches.append(add(f"党支部{len(orgs)}", "branch", committee))
        branch = branches[-1]
        for _ in range(rng.choice([0, 0, 1, 2, 3])):
            add(f"党小组{len(orgs)}", "group", branch)
    holders = [o for o in orgs if o["kind"] in ("branch", "group")]
    statuses = ["full"] * 85 + ["probationary"] * 8 + ["activist"] * 5 + ["candidate"] * 2
    members = [
        {
            "id": i + 1, "name": f"党员{i + 1}", "external_id": f"M{i + 1:07d}",
            "organisation_id": rng.choice(holders)["id"], "status": rng.choice(statuses),
            "joined_on": date(rng.randint(1980, 2025), rng.randint(1, 12), rng.randint(1, 28)),
            "active": True, "created_at": now, "updated_at": now,
        }
        for i in range(members_target)
    ]
    return orgs, members


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orgs", type=int, default=14_000)
    parser.add_argument("--members", type=int, default=220_000)
    args = parser.parse_args()
    app = create_app()
    with app.app_context():
        db.create_all()
        if db.session.query(Organisation.id).first() is not None:
            raise SystemExit("the database already has organisations; use an empty one")
        started = time.perf_counter()
        orgs, members = build(args.orgs, args.members)
        for chunk in range(0, len(orgs), 5_000):
            db.session.execute(insert(Organisation.__table__), orgs[chunk:chunk + 5_000])
        for chunk in range(0, len(members), 20_000):
            db.session.execute(insert(Member.__table__), members[chunk:chunk + 20_000])
        if db.engine.dialect.name == "postgresql":
            for table in ("organisation", "member"):
                db.session.execute(db.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(db.text("ANALYZE organisation"))
                conn.execute(db.text("ANALYZE member"))
        print(f"{len(orgs)} organisations, {len(members)} members in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
