"""A city-wide campaign's leaderboard as its players poll it: board.json through gunicorn.

Builds (once) a campaign at the city's top with 50,000 players' standings over its 14,000 branches,
then times, against /api/v1/me measured in the same run:

- a poll answered from the shared build (200, body size);
- a poll between two level results (304 Not Modified, as the page's fetch revalidates);
- the first poll after a level result (the build renewed);
- the branch board API, page 1.

    .venv/bin/python bench/board.py [--players 50000] [--cache redis://127.0.0.1:6379/14]
"""
from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Browser, Server, api_token, city_app, ensure_account, get, report, timed  # noqa: E402


def prepare(app, players: int) -> tuple[int, int]:
    """(challenge id, a playing member's id)."""
    from sqlalchemy import select, text

    from learning.config import PACKAGE_DIR
    from learning.db import utcnow
    from learning.extensions import db
    from learning.orgs.models import Organisation
    from learning.quizzes import challenges
    from learning.quizzes.banks import import_content
    from learning.quizzes.models import Challenge

    with app.app_context():
        found = db.session.scalar(select(Challenge).where(Challenge.title == "城市答题闯关（基准）"))
        if found is None:
            assert import_content(PACKAGE_DIR / "content" / "quizzes").ok
            city = db.session.scalar(select(Organisation).where(Organisation.parent_id.is_(None)))
            from learning.quizzes.banks import bank_by_slug

            found = challenges.create_challenge(city, challenges.ChallengeSpec(
                "城市答题闯关（基准）", "", utcnow() - timedelta(days=1), utcnow() + timedelta(days=60), 3,
                [bank_by_slug("party-basics").id], [challenges.LevelSpec("第一关", 5, 60, 60, 1)]))
            challenges.publish(found)
            db.session.flush()
            db.session.execute(text("""
                INSERT INTO challenge_standing (challenge_id, member_id, organisation_id, levels_passed, total_score,
                                                total_seconds, reached_at)
                SELECT :c, m.id, m.organisation_id, 1 + (m.id % 3), 60 + (m.id * 7919 % 40), 30 + (m.id % 300), now()
                FROM member m WHERE m.id % (220000 / :players) = 0 ORDER BY m.id LIMIT :players
            """), {"c": found.id, "players": players})
            db.session.commit()
        player = db.session.scalar(text("SELECT member_id FROM challenge_standing WHERE challenge_id = :c "
                                        "ORDER BY member_id DESC LIMIT 1"), {"c": found.id})
        return found.id, player


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--players", type=int, default=50_000)
    parser.add_argument("--cache", default="", help="LEARNING_CACHE_URL for the workers (default: a folder of learning serve's own that its workers share)")
    args = parser.parse_args()
    from sqlalchemy import text

    from learning.extensions import db

    app = city_app()
    challenge_id, player = prepare(app, args.players)
    ensure_account(app, "bench-player", member_id=player)
    token = api_token(app, "bench-player")
    with app.app_context():
        players = db.session.scalar(text("SELECT count(*) FROM challenge_standing WHERE challenge_id = :c"),
                                    {"c": challenge_id})
        branches = db.session.scalar(text("SELECT count(*) FROM organisation WHERE kind = 'branch'"))

    def bump():
        with app.app_context():
            db.session.execute(text("UPDATE challenge SET board_version = board_version + 1 WHERE id = :c"),
                               {"c": challenge_id})
            db.session.commit()

    # rebuilt on every change here (production spends at most QUIZ_BOARD_BUILD_SHARE of the time building:
    # a 1 s build every 10 s), so that "right after a level result" times a build
    env = {"LEARNING_QUIZ_BOARD_BUILD_SHARE": "1000000", **({"LEARNING_CACHE_URL": args.cache} if args.cache else {})}
    server = Server(workers=2, threads=4, env=env)
    try:
        member = Browser(server.base, "bench-player")
        url = f"/challenges/{challenge_id}/board.json"
        me, _ = timed(lambda: get(server.base, "/api/v1/me", {"Authorization": f"Bearer {token}"}), runs=30)
        member.get(url)
        member.get(url)  # each worker has a build (or Redis has one)
        polled, (status, body, headers) = timed(lambda: member.get(url), runs=30)
        assert status == 200
        etag = headers["ETag"]
        unchanged, (status304, _b, _h) = timed(lambda: member.get(url, {"If-None-Match": etag}), runs=30)
        assert status304 == 304, status304

        def after_a_result():
            bump()
            return member.get(url)

        rebuilt, _ = timed(after_a_result, runs=5)
        api, _ = timed(lambda: get(server.base, f"/api/v1/challenges/{challenge_id}/leaderboard?board=branches",
                                   {"Authorization": f"Bearer {token}"}), runs=10)
        rss = server.rss_mb()
    finally:
        server.stop()
    report(f"Campaign leaderboard, {players:,} players, {branches:,} branches, cache: {args.cache or 'a folder the workers share'}", [
        (f"board.json from the build (200, {len(body) / 1024:.1f} KB)", polled, "/api/v1/me", me, "≤ 3×, ≤ 50 KB"),
        ("board.json between two level results (304)", unchanged, "/api/v1/me", me, "≤ 3×"),
        ("board.json right after a level result (a build)", rebuilt, "/api/v1/me", me, "at most every 10 s"),
        ("branch board API, page 1", api, "/api/v1/me", me, ""),
    ])
    print(f"workers' resident memory: {', '.join(f'{v:.0f} MB' for v in rss.values())}")


if __name__ == "__main__":
    main()
