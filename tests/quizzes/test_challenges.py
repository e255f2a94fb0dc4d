"""Challenge campaigns: level order, attempts per day, points once per level, leaderboards worked
by hand, organisers' pages and their scope."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from learning.points.models import LedgerEntry
from learning.quizzes import analysis, attempts, boards, challenges
from learning.quizzes.attempts import QuizError
from learning.quizzes.models import Challenge, ChallengeStatus, Question
from tests.api.test_api import auth, token_for
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD
from tests.quizzes.conftest import answer_all, make_campaign, member


def play(who, level, *, right=True):
    attempt, _ = challenges.start_level(who, level)
    answer_all(who, attempt, right=right)
    return attempts.submit(who, attempt.token)


def level_points(db, who) -> int:
    return db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
        LedgerEntry.member_id == who.id, LedgerEntry.source_key.like("level:%")))


def test_levels_are_passed_in_order_and_each_awards_its_points_once(client, db, tree, campaign, clock):
    who = member(db, tree)
    headers = auth(token_for(client, "member"))
    locked = client.post(f"/api/v1/challenges/{campaign.id}/levels/2/attempts", headers=headers)
    assert locked.status_code == 409 and locked.get_json()["code"] == "locked"
    assert not play(who, campaign.levels[0], right=False).passed
    assert level_points(db, who) == 0
    assert play(who, campaign.levels[0]).passed
    db.session.commit()
    assert level_points(db, who) == 2  # level 1 is worth 2 points in this campaign
    clock.advance(24 * 3600)
    assert play(who, campaign.levels[0]).passed  # playing a passed level again earns nothing more
    assert play(who, campaign.levels[1]).passed
    db.session.commit()
    assert level_points(db, who) == 2 + 3
    detail = client.get(f"/api/v1/challenges/{campaign.id}", headers=headers).get_json()
    assert [lv["state"] for lv in detail["levels"]] == ["passed", "passed", "open"]
    assert detail["attempts_left_today"] == 1


def test_attempts_per_day_count_every_level_and_reset_the_next_local_day(client, db, tree, campaign, clock):
    who = member(db, tree)
    headers = auth(token_for(client, "member"))
    play(who, campaign.levels[0], right=False)
    play(who, campaign.levels[0], right=False)
    play(who, campaign.levels[0])
    db.session.commit()
    refused = client.post(f"/api/v1/challenges/{campaign.id}/levels/2/attempts", headers=headers)
    assert refused.status_code == 429 and refused.get_json()["code"] == "daily_limit"
    clock.moment = datetime(2026, 11, 10, 16, 0, tzinfo=timezone.utc)  # midnight in Shanghai: a new day
    assert client.post(f"/api/v1/challenges/{campaign.id}/levels/2/attempts", headers=headers).status_code == 201


def test_a_campaign_is_played_only_while_open_and_only_below_its_organisation(client, db, tree, banks, clock):
    draft = make_campaign(db, tree, org="GB", status_open=False)
    headers = auth(token_for(client, "member"))
    assert client.get(f"/api/v1/challenges/{draft.id}", headers=headers).status_code == 404
    challenges.publish(draft)
    db.session.commit()
    assert client.post(f"/api/v1/challenges/{draft.id}/levels/1/attempts", headers=headers).status_code == 201
    outsider = auth(token_for(client, "secretary2"))  # B2 is under GB too
    assert client.get(f"/api/v1/challenges/{draft.id}", headers=outsider).status_code == 200
    b3 = make_campaign(db, tree, org="B3")
    assert client.get(f"/api/v1/challenges/{b3.id}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/challenges/{b3.id}/leaderboard", headers=headers).status_code == 404
    clock.moment = datetime(2026, 12, 5, tzinfo=timezone.utc)  # after the end
    late = client.post(f"/api/v1/challenges/{draft.id}/levels/1/attempts", headers=headers)
    assert late.status_code == 409 and late.get_json()["code"] == "closed"
    assert challenges.refresh_all() >= 1
    db.session.commit()
    assert db.session.get(Challenge, draft.id).status is ChallengeStatus.CLOSED


def test_leaderboards_worked_by_hand(client, db, tree, campaign, clock):
    """王党员 (B1) passes levels 1 and 2; 赵小组 (G1, under B1) passes level 1; 钱二支 (B2) fails level 1.

    Members: 王党员 (2 levels) › 赵小组 (1) › 钱二支 (0 levels, 0 score).
    Branches (active members: B1 3 incl. G1, B2 2, B3 3): B1 played 2/3, levels 3/3 = 1.0, score 300/3 = 100;
    B2 played 1/2, levels 0; B3 nobody.
    """
    wang, zhao, qian = member(db, tree), member(db, tree, "g1_member"), member(db, tree, "b2_member")
    play(wang, campaign.levels[0])
    play(zhao, campaign.levels[0])
    clock.advance(60)
    play(wang, campaign.levels[1])
    play(qian, campaign.levels[0], right=False)
    db.session.commit()
    headers = auth(token_for(client, "g1member"))
    board = client.get(f"/api/v1/challenges/{campaign.id}/leaderboard", headers=headers).get_json()
    assert [(r["rank"], r["name"], r["levels_passed"]) for r in board["members"]] == [
        (1, "王党员", 2), (2, "赵小组", 1), (3, "钱二支", 0)]
    assert board["me"]["rank"] == 2
    branches = client.get(f"/api/v1/challenges/{campaign.id}/leaderboard?board=branches", headers=headers).get_json()
    rows = {r["name"]: r for r in branches["branches"]}
    assert (rows["一支部"]["members"], rows["一支部"]["players"], rows["一支部"]["levels_per_member"]) == (3, 2, 1.0)
    assert rows["一支部"]["average_score"] == 100.0 and rows["一支部"]["participation"] == round(2 / 3, 4)
    assert (rows["二支部"]["participation"], rows["二支部"]["levels_per_member"]) == (0.5, 0.0)
    assert rows["三支部"]["players"] == 0 and branches["branches"][0]["name"] == "一支部"
    bad = client.get(f"/api/v1/challenges/{campaign.id}/leaderboard?board=everyone", headers=headers)
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"


def test_ties_are_broken_by_time_then_by_who_got_there_first(db, tree, campaign, clock):
    wang, zhao = member(db, tree), member(db, tree, "g1_member")
    play(zhao, campaign.levels[0])
    clock.advance(30)
    play(wang, campaign.levels[0])
    db.session.commit()
    # Same levels, same score, same (zero) seconds: 赵小组 reached it first.
    assert [r["name"] for r in boards.member_board(campaign)] == ["赵小组", "王党员"]


def test_item_analysis_worked_by_hand(db, tree, campaign, clock):
    """Ten members each answer all ten 志愿服务 questions: the strong five everything right, the weak
    five everything wrong.  Every question: drawn 10 times, difficulty 0.5, discrimination 1.0."""
    from learning.orgs.models import Organisation
    from learning.orgs.services import create_member

    b1 = db.session.get(Organisation, tree["orgs"]["B1"])
    people = [create_member(f"党员{i}", b1) for i in range(10)]
    level = campaign.levels[0]
    level.quiz.categories, level.quiz.question_count = ["志愿服务"], 10
    db.session.commit()
    for i, who in enumerate(people):
        attempt, _ = challenges.start_level(who, level)
        answer_all(who, attempt, right=i >= 5)
        attempts.submit(who, attempt.token)
    db.session.commit()
    rows = analysis.item_stats(quiz_ids=[level.quiz_id])
    assert len(rows) == 10
    assert {(r["shown"], r["answered"], r["correct"], r["difficulty"], r["discrimination"]) for r in rows} == {
        (10, 10, 5, 0.5, 1.0)}
    assert {analysis.flag(r) for r in rows} == {None}
    question = db.session.get(Question, rows[0]["question_id"])
    counts = analysis.option_counts(question)
    assert counts["total"] == 10
    if question.kind.has_options:
        assert sum(o["count"] for o in counts["options"]) >= 10


def test_a_secretary_creates_and_publishes_a_campaign_for_their_branch_only(app, client, db, tree, banks, clock):
    login(client, "secretary", PASSWORD)
    token = csrf_token(client, "/admin/challenges/new")
    base = {"csrf_token": token, "title": "一支部答题月", "organisation": str(tree["orgs"]["B1"]),
            "starts_at": "2026-11-01T08:00", "ends_at": "2026-11-30T20:00", "attempts_per_day": "3",
            "banks": ["1"], "levels-0-title": "入门", "levels-0-question_count": "3", "levels-0-pass_percent": "60",
            "levels-0-seconds_per_question": "30", "levels-0-points": "2"}
    bad = client.post("/admin/challenges/new", data={**base, "ends_at": "2026-10-01T08:00", "levels-0-pass_percent": "160"})
    assert bad.status_code == 400
    page = bad.get_data(as_text=True)
    assert "结束时间必须晚于开始时间" in page and 'class="error"' in page
    assert db.session.scalar(select(func.count()).select_from(Challenge)) == 0
    outside = client.post("/admin/challenges/new", data={**base, "organisation": str(tree["orgs"]["B2"])})
    assert outside.status_code == 400 and db.session.scalar(select(func.count()).select_from(Challenge)) == 0
    created = client.post("/admin/challenges/new", data=base)
    assert created.status_code == 302
    challenge = db.session.scalar(select(Challenge))
    assert challenge.status is ChallengeStatus.DRAFT and challenge.starts_at == datetime(2026, 11, 1, 0, tzinfo=timezone.utc)
    assert client.get("/quizzes/").status_code == 200 and "一支部答题月" not in client.get("/quizzes/").get_data(as_text=True)
    client.post(f"/admin/challenges/{challenge.id}/publish", data={"csrf_token": token})
    db.session.expire_all()
    assert challenge.status is ChallengeStatus.OPEN
    assert "一支部答题月" in client.get("/quizzes/").get_data(as_text=True)
    stats = client.get(f"/admin/challenges/{challenge.id}")
    assert stats.status_code == 200 and "参与人数" in stats.get_data(as_text=True)
    other = app.test_client()
    login(other, "secretary2", PASSWORD)
    assert other.get(f"/admin/challenges/{challenge.id}").status_code == 404
    # Once started, the levels stay as they are.
    with pytest.raises(QuizError):
        challenges.update_challenge(challenge, challenges.ChallengeSpec(
            "x", "", challenge.starts_at, challenge.ends_at, 3, challenge.bank_ids, []))


def test_superadmin_uploads_a_bank_sees_errors_by_line_and_retires_a_question(client, db, tree, banks):
    import io

    login(client, "root", PASSWORD)
    token = csrf_token(client, "/admin/quizzes/")
    bad = client.post("/admin/quizzes/upload", data={"csrf_token": token, "bank": "0", "slug": "new-bank", "title": "新题库",
                                                     "file": (io.BytesIO("好吗？\nA. 好\nANSWER: A\n".encode()), "q.txt")},
                      content_type="multipart/form-data")
    assert bad.status_code == 400 and "q.txt:3" in bad.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Question).where(Question.bank_id > 2)) == 0
    good = client.post("/admin/quizzes/upload", data={"csrf_token": token, "bank": "0", "slug": "new-bank", "title": "新题库",
                                                      "file": (io.BytesIO("好吗？\nA. 好\nB. 不好\nANSWER: A\n".encode()), "q.txt")},
                       content_type="multipart/form-data")
    assert good.status_code == 302
    question = db.session.scalar(select(Question).where(Question.stem == "好吗？"))
    client.post(f"/admin/quizzes/questions/{question.id}/retire", data={"csrf_token": token})
    db.session.refresh(question)
    assert question.retired_at is not None
    gift = client.get(f"/admin/quizzes/banks/{question.bank_id}/export.gift").get_data(as_text=True)
    assert "好吗" not in gift  # retired questions are not exported
    assert client.get("/admin/quizzes/banks/1?q=党章&kind=single").status_code == 200
    member_client = client.application.test_client()
    login(member_client, "member", PASSWORD)
    assert member_client.get("/admin/quizzes/").status_code in (403, 404)
