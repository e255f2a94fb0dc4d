"""Loading the demo software park from ``content/demo/``.

Idempotent: organisations and members are matched by external id and accounts by
username, so running it again changes nothing and never resets a password that a
demo user has since changed.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml
from sqlalchemy import func, select

from learning.accounts import services as accounts
from learning.accounts.models import Role
from learning.extensions import db
from learning.orgs import services as orgs
from learning.orgs.models import MemberStatus, Organisation, OrgKind


class DemoDataError(ValueError):
    """The demo files are inconsistent; the message names the file and entry."""


@dataclass
class DemoLogin:
    username: str
    password: str
    role: str
    note: str


@dataclass
class DemoResult:
    organisations_created: int
    members_created: int
    accounts_created: int
    logins: list[DemoLogin]


def demo_logins(content_dir: str | Path, *, existing_only: bool = False) -> list[DemoLogin]:
    """The logins of content/demo/accounts.yaml (only those whose account exists, if asked)."""
    path = Path(content_dir) / "demo" / "accounts.yaml"
    if not path.exists():
        return []
    logins = [
        DemoLogin(e["username"], e["password"], e["role"], e.get("note", ""))
        for e in yaml.safe_load(path.read_text(encoding="utf-8"))
    ]
    if existing_only:
        logins = [login for login in logins if accounts.account_by_username(login.username) is not None]
    return logins


def database_is_empty() -> bool:
    return db.session.scalar(select(func.count()).select_from(Organisation)) == 0


def load_demo(content_dir: str | Path) -> DemoResult:
    """Create what is missing of the demo data, in one transaction."""
    base = Path(content_dir) / "demo"
    try:
        result = _load(base)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    from learning.courses.content import import_courses

    import_courses(Path(content_dir) / "courses")  # idempotent; commits per course
    from learning.quizzes.banks import import_content

    import_content(Path(content_dir) / "quizzes")  # idempotent
    db.session.commit()
    _load_challenge(base)
    db.session.commit()
    _load_study(base)  # needs the courses and their quizzes
    db.session.commit()
    from learning.evaluation import sample as evaluation_sample

    evaluation_sample.load()  # reports, inspections and the ballot, on top of the year's activity
    db.session.commit()
    return result


def demo_challenge(path: Path, organisation):
    """Create and publish the campaign described in ``path`` (content/demo/challenge.yaml) for
    ``organisation``, open from a week ago; the browser test plays the same campaign."""
    from datetime import timedelta

    from learning.db import utcnow
    from learning.quizzes import challenges
    from learning.quizzes.banks import bank_by_slug

    spec = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    start = utcnow() - timedelta(days=spec["starts_days_ago"])
    challenge = challenges.create_challenge(organisation, challenges.ChallengeSpec(
        title=spec["title"], description=spec["description"], starts_at=start,
        ends_at=start + timedelta(days=spec["lasts_days"]), attempts_per_day=spec["attempts_per_day"],
        bank_ids=[bank_by_slug(slug).id for slug in spec["banks"]],
        levels=[challenges.LevelSpec(lv["title"], lv["questions"], lv["pass_percent"], lv["seconds_per_question"],
                                     lv["points"]) for lv in spec["levels"]]))
    challenges.publish(challenge)
    return challenge


def _load_challenge(base: Path) -> None:
    """The demo campaign (once), and some members who have played it, so its boards show something."""
    import random
    from datetime import timedelta

    from learning.orgs.models import Member
    from learning.quizzes import attempts, challenges
    from learning.quizzes.models import Challenge

    path = base / "challenge.yaml"
    if not path.exists() or db.session.scalar(select(func.count()).select_from(Challenge)):
        return
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    challenge = demo_challenge(path, orgs.org_by_external_id(spec["organisation"]))
    rng = random.Random(spec["seed"])
    with_login = {e["member"] for e in yaml.safe_load((base / "accounts.yaml").read_text(encoding="utf-8"))
                  if e.get("member")}
    players = [m for m in db.session.scalars(select(Member).where(Member.active.is_(True)).order_by(Member.id))
               if m.external_id not in with_login]
    for who in rng.sample(players, min(spec["players"], len(players))):
        skill = rng.uniform(0.5, 1.0)
        for level in challenge.levels[:rng.randint(1, min(len(challenge.levels), challenge.attempts_per_day))]:
            attempt, _ = challenges.start_level(who, level)
            # As if they had played it: some seconds per question, within the level's time (the board's
            # tie-break by time shows real differences, not 0 s for everyone).
            limit = max(attempt.quiz.time_limit_seconds - 5, 10)
            played = timedelta(seconds=rng.randint(min(len(attempt.items) * 4, limit), limit))
            attempt.started_at -= played
            attempt.deadline -= played
            db.session.flush()
            for item in attempt.items:
                if rng.random() < skill:
                    if item.question.kind.has_options:
                        attempts.answer(who.id, attempt.token, item.position, choices=attempts.right_letters(item))
                    else:
                        attempts.answer(who.id, attempt.token, item.position, text=item.question.answers[0]["text"])
            if not attempts.submit(who, attempt.token).passed:
                break


def _load(base: Path) -> DemoResult:
    created_orgs = 0
    tree = yaml.safe_load((base / "organisations.yaml").read_text(encoding="utf-8"))

    def walk(nodes, parent):
        nonlocal created_orgs
        for node in nodes or []:
            org = orgs.org_by_external_id(node["id"])
            if org is None:
                org = orgs.create_organisation(
                    node["name"], OrgKind(node["kind"]), parent, external_id=node["id"], joint=bool(node.get("joint"))
                )
                created_orgs += 1
            walk(node.get("children"), org)

    walk(tree, None)

    created_members = 0
    with (base / "members.csv").open(encoding="utf-8", newline="") as fh:
        for line_no, row in enumerate(csv.DictReader(fh), start=2):
            if orgs.member_by_external_id(row["external_id"]) is not None:
                continue
            org = orgs.org_by_external_id(row["organisation"])
            if org is None:
                raise DemoDataError(f"members.csv line {line_no}: unknown organisation {row['organisation']!r}")
            orgs.create_member(
                row["name"],
                org,
                MemberStatus(row["status"]),
                external_id=row["external_id"],
                joined_on=date.fromisoformat(row["joined_on"]) if row["joined_on"] else None,
            )
            created_members += 1

    created_accounts = 0
    logins = demo_logins(base.parent)
    for entry in yaml.safe_load((base / "accounts.yaml").read_text(encoding="utf-8")):
        if accounts.account_by_username(entry["username"]) is not None:
            continue
        member = orgs.member_by_external_id(entry["member"]) if entry.get("member") else None
        organisation = orgs.org_by_external_id(entry["organisation"]) if entry.get("organisation") else None
        if entry.get("member") and member is None:
            raise DemoDataError(f"accounts.yaml {entry['username']}: unknown member {entry['member']!r}")
        accounts.create_account(
            entry["username"],
            entry["password"],
            member=member,
            role=Role(entry["role"]),
            organisation=organisation,
            display_name=entry.get("display_name"),
        )
        created_accounts += 1
    _load_rules_and_activity(base)
    from learning.orglife import sample

    sample.load()
    return DemoResult(created_orgs, created_members, created_accounts, logins)


def _load_rules_and_activity(base: Path) -> None:
    """Point rules, and three months of believable activity so rankings have something to show.

    Seeded, with source keys of its own, so a second run adds nothing.
    """
    import random
    from datetime import datetime, time, timedelta, timezone

    from learning.points import services as points
    from learning.points.models import LedgerEntry
    from learning.orgs.models import Member
    from learning.points.periods import local_today, zone

    points.load_rules(base.parent / "points" / "rules.yaml")
    if db.session.scalar(select(func.count()).select_from(LedgerEntry)):
        return
    spec = yaml.safe_load((base / "activity.yaml").read_text(encoding="utf-8"))
    rng = random.Random(spec["seed"])
    today = local_today()
    members = db.session.scalars(select(Member).order_by(Member.id)).all()
    for member in members:
        keenness = rng.random() ** 2  # a few members are far more active than most
        for days_ago in range(spec["days"], 0, -1):
            day = today - timedelta(days=days_ago)
            moment = datetime.combine(day, time(12), tzinfo=zone()).astimezone(timezone.utc)
            for rule, chance, extra in spec["daily"]:
                if rng.random() < chance * keenness:
                    points.award(rule, member=member, source_key=f"demo:{rule}:{day.isoformat()}",
                                 occurred_at=moment, **(extra or {}))
            if day.day == 15:
                for rule, chance, extra in spec["monthly"]:
                    if rng.random() < chance:
                        points.award(rule, member=member, source_key=f"demo:{rule}:{day.isoformat()}",
                                     occurred_at=moment, **(extra or {}))
    db.session.flush()


def _load_study(base: Path) -> None:
    """This quarter's studying: the park's quota is one the shipped courses can meet (4 required + 2 elective
    hours a quarter), and each member has finished some courses (lessons through the study services, course
    quizzes passed through the quiz services), keen members all of them, so the 学时 pages show a spread.
    Seeded, and only while nobody has finished a course."""
    import random
    from datetime import datetime, time, timedelta, timezone
    from decimal import Decimal

    from learning.courses import services as courses
    from learning.courses.models import Course, CourseCompletion, LessonProgress
    from learning.orgs.models import Member, MemberStatus, Organisation
    from learning.points import periods
    from learning.quizzes import attempts
    from learning.quizzes import services as quizzes

    if db.session.scalar(select(func.count()).select_from(CourseCompletion)):
        return
    spec = yaml.safe_load((base / "activity.yaml").read_text(encoding="utf-8")).get("study", {})
    park = db.session.scalar(select(Organisation).where(Organisation.parent_id.is_(None)).order_by(Organisation.id))
    if park is None:
        return
    courses.set_quota(park, "quarter", Decimal(str(spec.get("required", 4))), Decimal(str(spec.get("elective", 2))))
    rng = random.Random(spec.get("seed", 2026))
    today = periods.local_today()
    start = periods.parse(periods.quarter_key(today)).starts_on
    catalogue = db.session.scalars(select(Course).where(Course.published.is_(True)).order_by(Course.id)).all()
    members = db.session.scalars(select(Member).where(
        Member.active.is_(True), Member.status.in_([MemberStatus.FULL, MemberStatus.PROBATIONARY]))
        .order_by(Member.id)).all()
    for member in members:
        keenness = rng.random()
        for course in catalogue:
            if rng.random() > 0.15 + 0.85 * keenness:
                continue
            day = start + timedelta(days=rng.randint(0, max((today - start).days - 1, 0)))
            moment = datetime.combine(day, time(rng.randint(7, 21), rng.randint(0, 59)),
                                      tzinfo=periods.zone()).astimezone(timezone.utc)
            for lesson in course.live_lessons:
                db.session.add(LessonProgress(member_id=member.id, lesson_id=lesson.id, seconds=lesson.min_seconds,
                                              reached_end=True, completed_at=moment))
                db.session.flush()
                courses.on_lesson_completed(member, lesson, moment)
            if course.quiz_slug and (quiz := quizzes.quiz_by_slug(course.quiz_slug)) is not None:
                attempt, _ = quizzes.start_quiz(member, quiz)
                for item in attempt.items:
                    if item.question.kind.has_options:
                        attempts.answer(member.id, attempt.token, item.position, choices=attempts.right_letters(item))
                    else:
                        attempts.answer(member.id, attempt.token, item.position, text=item.question.answers[0]["text"])
                attempts.submit(member, attempt.token)
                courses.complete_course_if_done(member, course, moment)
    db.session.flush()
