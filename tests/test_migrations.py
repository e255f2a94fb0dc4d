"""Migrations build the same schema as the models, from an empty database, on both databases."""
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from learning import create_app
from learning.extensions import db as _db


def test_upgrade_to_head_matches_the_models_and_downgrades_cleanly(empty_database_url, tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"})
    with app.app_context():
        upgrade()
        with _db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, _db.metadata)
        assert diff == [], f"the migrations and the models differ: {diff}"
        tables = set(sa.inspect(_db.engine).get_table_names())
        assert {"organisation", "member", "account", "role_grant", "api_token"} <= tables

        downgrade(revision="base")
        assert set(sa.inspect(_db.engine).get_table_names()) <= {"alembic_version"}
        _db.engine.dispose()


def test_volunteer_hours_are_filled_from_what_was_recorded_before(empty_database_url, tmp_path):
    """0015 rebuilds, from attendances and applied registry events, exactly the rows the code records."""
    from datetime import datetime, timedelta, timezone
    from decimal import Decimal

    from learning.accounts.models import Account
    from learning.config import PACKAGE_DIR
    from learning.orglife import activities, checkin
    from learning.orgs.models import Member, Organisation
    from learning.points.services import load_rules
    from learning.registry import events
    from learning.registry.models import EventStatus, RegistryEvent
    from learning.registry.services import create_connection
    from tests.factories import build_tree

    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"})
    shanghai = timezone(timedelta(hours=8))
    columns = ("member_id", "organisation_id", "served_on", "hours", "source", "source_key", "title", "activity_id")
    read = sa.text(f"SELECT {', '.join(columns)} FROM volunteer_service ORDER BY source_key")
    with app.app_context():
        upgrade()
        tree = build_tree().ids()
        load_rules(PACKAGE_DIR / "content" / "points" / "rules.yaml")
        secretary = _db.session.get(Account, tree["accounts"]["secretary"])
        item = activities.create_activity(_db.session.get(Organisation, tree["orgs"]["B1"]), actor=secretary,
                                          kind="volunteer_service", title="社区义诊",
                                          starts_at=datetime(2026, 3, 31, 23, tzinfo=shanghai),  # 15:00 UTC
                                          ends_at=datetime(2026, 4, 1, 1, 30, tzinfo=shanghai))
        _db.session.commit()
        checkin.mark_by_hand(item, _db.session.get(Member, tree["members"]["g1_member"]), actor=secretary,
                             reason="现场登记", hours=Decimal("1.25"))
        connection = create_connection("党员信息库").connection
        event = RegistryEvent(connection_id=connection.id, event_id="v-1", type="volunteer.service",
                              occurred_at=datetime(2026, 5, 1, tzinfo=timezone.utc), status=EventStatus.PENDING,
                              payload={"data": {"member": "M-B2-1", "hours": 2.5, "date": "2026-05-01", "title": "防汛"}})
        _db.session.add(event)
        _db.session.flush()
        events.apply(event)
        event.status = EventStatus.APPLIED
        _db.session.commit()
        with _db.engine.connect() as conn:
            recorded = [tuple(r) for r in conn.execute(read)]
        assert len(recorded) == 2 and str(recorded[0][2])[:10] == "2026-03-31"  # the local day

        downgrade(revision="0014_orglife")
        upgrade()
        with _db.engine.connect() as conn:
            assert [tuple(r) for r in conn.execute(read)] == recorded
        _db.session.remove()
        _db.engine.dispose()


def test_member_scores_are_filled_from_the_ledger(empty_database_url, tmp_path):
    """0021 rebuilds, from the ledger, exactly the member scores that awards maintain."""
    from datetime import datetime, timezone

    from learning.accounts.models import Account
    from learning.config import PACKAGE_DIR
    from learning.orgs.models import Member
    from learning.points import services
    from tests.factories import build_tree, give_points

    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"})
    read = sa.text("SELECT member_id, period_key, points, last_entry_id, took_part FROM point_member_score "
                   "ORDER BY member_id, period_key")
    with app.app_context():
        upgrade()
        tree = build_tree().ids()
        services.load_rules(PACKAGE_DIR / "content" / "points" / "rules.yaml")
        admin = _db.session.get(Account, tree["accounts"]["superadmin"])
        for i, key in enumerate(("b1_member", "g1_member", "b2_member")):
            member = _db.session.get(Member, tree["members"][key])
            day = datetime(2026, 3 + i * 3, 5, 4, tzinfo=timezone.utc)
            services.award("meeting_attended", member=member, source_key="m", occurred_at=day)
            services.award("dues_paid_on_time", member=member, source_key="d", occurred_at=day)
            give_points(member, -3 if i == 1 else 4, admin, occurred_at=day)
        _db.session.commit()
        with _db.engine.connect() as conn:
            kept = [tuple(r) for r in conn.execute(read)]
        assert len(kept) == 3 * 4 and {r[4] for r in kept} == {5}  # only the meeting is taking part

        downgrade(revision="0020_honours")
        upgrade()
        with _db.engine.connect() as conn:
            assert [tuple(r) for r in conn.execute(read)] == kept
        assert services.verify_totals() == []
        _db.session.remove()
        _db.engine.dispose()
