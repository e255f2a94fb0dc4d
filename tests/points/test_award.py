"""award(): idempotency, caps, units, variants, manual entries, corrections, rule settings, time zones."""
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select

from learning.accounts.models import Account
from learning.orgs.models import Member, Organisation
from learning.orgs.services import move_organisation
from learning.points import manual, services
from learning.points.models import LedgerEntry, Period, RuleSetting
from learning.points.services import PointsError, award


def at(y, m, d, hour=4):
    """04:00 UTC is noon in Shanghai: the same local day."""
    return datetime(y, m, d, hour, tzinfo=timezone.utc)


@pytest.fixture
def member(db, tree, rules):
    return db.session.get(Member, tree["members"]["b1_member"])


@pytest.fixture
def admin(db, tree):
    return db.session.get(Account, tree["accounts"]["secretary"])


def test_an_award_is_recorded_once_per_source(db, member):
    first = award("challenge_level_passed", member=member, source_key="c1:l1", occurred_at=at(2026, 11, 2), quantity=3)
    again = award("challenge_level_passed", member=member, source_key="c1:l1", occurred_at=at(2026, 11, 2), quantity=3)
    db.session.commit()
    assert first.created and first.points == 3
    assert not again.created and again.entry.id == first.entry.id
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 1
    assert services.member_points(member.id, "2026Q4") == 3


def test_the_daily_cap_cuts_the_seventh_lesson_and_resets_the_next_day(db, member):
    results = [award("lesson_completed", member=member, source_key=f"lesson:{i}", occurred_at=at(2026, 11, 2))
               for i in range(7)]
    assert [r.points for r in results] == [1, 1, 1, 1, 1, 1, 0]
    assert results[-1].capped and results[-1].entry.requested_points == 1  # the member sees "capped"
    next_day = award("lesson_completed", member=member, source_key="lesson:8", occurred_at=at(2026, 11, 3))
    db.session.commit()
    assert next_day.points == 1
    assert services.member_points(member.id, "2026-11") == 7


def test_a_period_cap_is_shared_across_the_month(db, member):
    # volunteer service: 2 per hour, at most 10 a month
    r1 = award("volunteer_service", member=member, source_key="v1", quantity=3, occurred_at=at(2026, 11, 2))
    r2 = award("volunteer_service", member=member, source_key="v2", quantity=3, occurred_at=at(2026, 11, 20))
    r3 = award("volunteer_service", member=member, source_key="v3", quantity=1, occurred_at=at(2026, 12, 1))
    db.session.commit()
    assert (r1.points, r2.points, r2.capped, r3.points) == (6, 4, True, 2)


def test_units_round_half_up(db, member):
    assert award("course_completed", member=member, source_key="course:1", quantity=1.5).points == 3
    assert award("course_completed", member=member, source_key="course:2", quantity=0.25).points == 1  # 0.5 → 1
    assert award("volunteer_service", member=member, source_key="v", quantity=0.2).points == 0
    with pytest.raises(PointsError):
        award("course_completed", member=member, source_key="course:3")


def test_daily_quiz_variants_and_one_counted_attempt_a_day(db, member):
    perfect = award("daily_quiz", member=member, source_key="daily:2026-11-02", variant="perfect", occurred_at=at(2026, 11, 2))
    second = award("daily_quiz", member=member, source_key="daily:2026-11-02", variant="pass", occurred_at=at(2026, 11, 2))
    passed = award("daily_quiz", member=member, source_key="daily:2026-11-03", variant="pass", occurred_at=at(2026, 11, 3))
    assert (perfect.points, second.created, passed.points) == (2, False, 1)


def test_manual_entries_need_a_reason_and_an_administrator(db, member, admin):
    with pytest.raises(PointsError) as missing_reason:
        manual.give(actor=admin, member=member, points=5, reason="  ")
    assert missing_reason.value.field == "reason"
    with pytest.raises(PointsError):
        services.award("manual_bonus", member=member, source_key="x", points=5, reason="好")
    bonus = manual.give(actor=admin, member=member, points=5, reason="疫情防控志愿者", request_id="r1")
    twice = manual.give(actor=admin, member=member, points=5, reason="疫情防控志愿者", request_id="r1")
    deduction = manual.give(actor=admin, member=member, points=-3, reason="无故缺席支部党员大会")
    db.session.commit()
    assert bonus.points == 5 and twice.id == bonus.id and deduction.points == -3
    entry = db.session.get(LedgerEntry, bonus.entry_id)
    assert entry.points == 5 and entry.actor_account_id == admin.id and entry.actor_kind.value == "admin"
    assert services.member_points(member.id, "all") == 2


def test_a_correction_compensates_once(db, member, admin):
    entry = award("meeting_attended", member=member, source_key="meeting:9").entry
    correction = services.correct(entry, actor=admin, reason="会议记录有误")
    db.session.commit()
    assert correction.points == -5 and correction.corrects_id == entry.id
    assert services.member_points(member.id, "all") == 0
    with pytest.raises(PointsError):
        services.correct(entry, actor=admin, reason="再来一次")
    with pytest.raises(PointsError):
        services.correct(correction, actor=admin, reason="改正的改正")


def test_a_committee_raises_a_rule_for_its_subtree_and_season(db, tree, rules, admin):
    c = db.session.get(Organisation, tree["orgs"]["C"])
    # The campaign sets each level's points; a committee doubles them for its subtree's 闯关月.
    rule = services.rule_by_code("challenge_level_passed")
    services.change_setting(rule, actor=admin, organisation=c, points=2,
                            starts_on=date(2026, 11, 1), ends_on=date(2026, 11, 30), note="闯关月")
    inside = db.session.get(Member, tree["members"]["b1_member"])
    outside = db.session.get(Member, tree["members"]["bx_member"])
    assert award("challenge_level_passed", member=inside, source_key="a", occurred_at=at(2026, 11, 5), quantity=3).points == 6
    assert award("challenge_level_passed", member=outside, source_key="a", occurred_at=at(2026, 11, 5), quantity=3).points == 3
    assert award("challenge_level_passed", member=inside, source_key="b", occurred_at=at(2026, 12, 5), quantity=3).points == 3
    # The history of the rule is kept: the default and the season's value.
    assert db.session.scalar(select(func.count()).select_from(RuleSetting).where(RuleSetting.rule_id == rule.id)) == 2


def test_a_deeper_setting_wins_over_a_higher_one(db, tree, rules, admin):
    rule = services.rule_by_code("meeting_attended")
    services.change_setting(rule, actor=admin, organisation=db.session.get(Organisation, tree["orgs"]["C"]), points=6)
    services.change_setting(rule, actor=admin, organisation=db.session.get(Organisation, tree["orgs"]["B1"]), points=8)
    services.change_setting(rule, actor=admin, organisation=None, points=7)  # a newer global default
    b1 = db.session.get(Member, tree["members"]["b1_member"])
    b3 = db.session.get(Member, tree["members"]["b3_member"])
    bx = db.session.get(Member, tree["members"]["bx_member"])
    assert [award("meeting_attended", member=m, source_key="m").points for m in (b1, b3, bx)] == [8, 6, 7]


def test_a_disabled_rule_awards_nothing(db, tree, rules, admin):
    rule = services.rule_by_code("daily_login")
    services.change_setting(rule, actor=admin, organisation=None, points=1, daily_cap=1, active=False)
    result = award("daily_login", member=db.session.get(Member, tree["members"]["b1_member"]), source_key="d")
    assert result.entry is None and result.points == 0


def test_days_and_periods_are_local_to_shanghai(db, member):
    # 2026-03-31 16:30 UTC is 1 April 00:30 in Shanghai: Q2, not Q1.
    entry = award("meeting_attended", member=member, source_key="late-night",
                  occurred_at=datetime(2026, 3, 31, 16, 30, tzinfo=timezone.utc)).entry
    assert (entry.occurred_on, entry.quarter_key, entry.month_key, entry.year_key) == (date(2026, 4, 1), "2026Q2", "2026-04", "2026")


def test_a_late_award_for_a_closed_period_counts_in_the_open_one(db, member):
    award("meeting_attended", member=member, source_key="before-close", occurred_at=at(2026, 9, 10))
    db.session.get(Period, "2026Q3").closed_at = datetime(2026, 10, 1, tzinfo=timezone.utc)
    late = award("meeting_attended", member=member, source_key="late", occurred_at=at(2026, 9, 20)).entry
    assert late.occurred_on == date(2026, 9, 20)
    assert late.quarter_key != "2026Q3" and late.counted_on > date(2026, 9, 30)


def test_transfers_keep_history_where_it_was_earned(db, tree, rules):
    member = db.session.get(Member, tree["members"]["b1_member"])
    award("meeting_attended", member=member, source_key="in-b1", occurred_at=at(2026, 10, 10))
    member.organisation = db.session.get(Organisation, tree["orgs"]["B2"])  # transferred
    award("meeting_attended", member=member, source_key="in-b2", occurred_at=at(2026, 11, 10))
    db.session.commit()
    by_org = dict(db.session.execute(
        select(LedgerEntry.organisation_id, func.sum(LedgerEntry.points)).group_by(LedgerEntry.organisation_id)
    ).all())
    assert by_org == {tree["orgs"]["B1"]: 5, tree["orgs"]["B2"]: 5}
    assert services.member_points(member.id, "2026Q4") == 10  # the member keeps all of it
    assert services.verify_totals() == []


def test_organisation_rules_award_organisations(db, tree, rules):
    b1 = db.session.get(Organisation, tree["orgs"]["B1"])
    result = award("meeting_held_on_schedule", organisation=b1, source_key="meeting:2026-11")
    assert result.points == 5 and result.entry.member_id is None
    with pytest.raises(PointsError):
        award("meeting_held_on_schedule", member=db.session.get(Member, tree["members"]["b1_member"]), source_key="x")


def test_bad_calls_are_refused(db, member):
    with pytest.raises(PointsError):
        award("no_such_rule", member=member, source_key="x")
    with pytest.raises(PointsError):
        award("meeting_attended", member=member, source_key="")
    with pytest.raises(PointsError):
        award("meeting_attended", member=member, source_key="x", points=50)


def test_moving_an_organisation_keeps_its_entries(db, tree, rules):
    member = db.session.get(Member, tree["members"]["g1_member"])
    award("meeting_attended", member=member, source_key="m1")
    move_organisation(db.session.get(Organisation, tree["orgs"]["B1"]), db.session.get(Organisation, tree["orgs"]["OTHER"]))
    db.session.commit()
    assert services.member_points(member.id, "all") == 5
