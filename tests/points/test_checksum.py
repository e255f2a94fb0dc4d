"""The period checksum: the same digest whether PostgreSQL writes and joins the lines or Python reads
the rows, for keys with separators, quotes, backslashes, control characters and line breaks."""
import hashlib
from datetime import datetime, timezone

import sqlalchemy as sa

from learning.orgs.models import Member
from learning.points import periods, services
from learning.points.models import LedgerEntry
from learning.points import snapshots
from learning.points.snapshots import _joined_checksum, _read_checksum, ledger_checksum

KEYS = ["plain", "with|bar", "back\\slash", 'quote"d', "comma,semi;", "中文·键", "tab\there", "apos'", "E'\\x02'"]


def expected(db, span):
    rows = db.session.execute(sa.select(LedgerEntry).where(LedgerEntry.quarter_key == span.key)
                              .order_by(LedgerEntry.id)).scalars().all()
    lines = "".join(f"{e.id}|{e.subject_key}|{e.organisation_id}|{e.rule_id}|{e.source_key}|{e.points}\n" for e in rows)
    return hashlib.sha256(lines.encode()).hexdigest(), len(rows), rows[-1].id


def test_the_checksum_is_the_digest_of_the_rows_as_written(db, tree, rules):
    member = db.session.get(Member, tree["members"]["b1_member"])
    day = datetime(2026, 8, 3, 4, tzinfo=timezone.utc)
    for key in KEYS:
        services.award("meeting_attended", member=member, source_key=key, occurred_at=day)
    services.award("dues_paid_on_time", member=member, source_key="x", occurred_at=day)
    db.session.commit()
    span = periods.parse("2026Q3")
    want = expected(db, span)
    assert want[1] == len(KEYS) + 1
    assert ledger_checksum(span) == want == _read_checksum(span)
    if db.engine.dialect.name == "postgresql":
        assert _joined_checksum(span) == want  # written by the database, not read back
    assert ledger_checksum(periods.parse("2026Q2")) == (hashlib.sha256(b"").hexdigest(), 0, 0)


def test_control_characters_and_pieces_of_many_rows_give_the_same_digest(db, tree, rules, monkeypatch):
    member = db.session.get(Member, tree["members"]["b1_member"])
    day = datetime(2026, 8, 3, 4, tzinfo=timezone.utc)
    for key in ("a\nline", "ctl\x01one", "ctl\x02two", "cr\rx"):
        services.award("meeting_attended", member=member, source_key=key, occurred_at=day)
    db.session.commit()
    span = periods.parse("2026Q3")
    assert ledger_checksum(span) == expected(db, span) == _read_checksum(span)
    for n in range(7):
        services.award("meeting_attended", member=member, source_key=f"more{n}", occurred_at=day)
    db.session.commit()
    monkeypatch.setattr(snapshots, "CHUNK", 3)  # rows joined in pieces of three ids
    assert ledger_checksum(span) == expected(db, span) == _read_checksum(span)
    if db.engine.dialect.name == "postgresql":
        assert _joined_checksum(span) == expected(db, span)
