"""Campaign leaderboards served from shared builds: the same rows as ranking on the spot, a 304
between two level results, a new build after one, the member's own branch when it is not among
the first 20, one build at a time, and the same through Redis."""
import os

import pytest

from learning.orgs.models import Organisation, OrgKind
from learning.orgs.services import create_member, create_organisation
from learning.quizzes import boards
from learning.quizzes.models import Challenge
from tests.conftest import IN_CI, login
from tests.factories import PASSWORD
from tests.quizzes.conftest import member
from tests.quizzes.test_challenges import play

REDIS_URL = os.environ.get("LEARNING_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _poll(client, campaign, etag=None):
    headers = {"If-None-Match": etag} if etag else {}
    return client.get(f"/challenges/{campaign.id}/board.json", headers=headers)


def _plain(campaign, sort="levels"):
    return boards.branch_board(campaign, sort)


@pytest.fixture
def later(app, monkeypatch):
    """The boards' clock; ``later(seconds)`` moves it."""
    now = [1_800_000_000.0]
    monkeypatch.setattr(boards, "_now", lambda: now[0])

    def move(seconds=1):
        now[0] += seconds
    return move


def test_a_poll_between_two_level_results_is_not_modified(client, db, tree, campaign, clock, later):
    wang = member(db, tree)
    play(wang, campaign.levels[0])
    db.session.commit()
    login(client, "member", PASSWORD)
    first = _poll(client, campaign)
    assert first.status_code == 200 and first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, no-cache"
    body = first.get_json()
    assert body["members"] == boards.member_board(campaign, limit=20)
    assert body["branches"] == _plain(campaign)[:20] and body["branch_count"] == len(_plain(campaign))
    assert body["me"] == boards.member_rank(campaign, wang) and body["me"]["rank"] == 1

    again = _poll(client, campaign, first.headers["ETag"])
    assert again.status_code == 304 and again.get_data() == b""

    zhao = member(db, tree, "g1_member")
    clock.advance(60)
    play(zhao, campaign.levels[0])
    play(wang, campaign.levels[1])
    db.session.commit()
    later(0.01)
    changed = _poll(client, campaign, first.headers["ETag"])
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    db.session.expire_all()
    fresh = db.session.get(Challenge, campaign.id)
    assert changed.get_json()["members"] == boards.member_board(fresh, limit=20)
    assert [(r["name"], r["levels_passed"]) for r in changed.get_json()["members"]] == [("王党员", 2), ("赵小组", 1)]
    assert changed.get_json()["branches"] == _plain(fresh)[:20]


@pytest.fixture
def crowded(db, tree, campaign, clock):
    """25 more branches whose one member each passes a level; B1's members play nothing."""
    city = db.session.get(Organisation, tree["orgs"]["C"])
    for i in range(25):
        branch = create_organisation(f"支部{i:02d}", OrgKind.BRANCH, city)
        player = create_member(f"选手{i:02d}", branch)
        db.session.flush()
        play(player, campaign.levels[0], right=i % 3 != 0)
        clock.advance(5)
    db.session.commit()
    return campaign


def test_the_first_20_branches_and_the_members_own_below_them(client, db, tree, crowded):
    login(client, "member", PASSWORD)
    body = _poll(client, crowded).get_json()
    plain = _plain(crowded)
    assert len(plain) == 28 and body["branch_count"] == 28
    assert body["branches"][:20] == plain[:20]
    own = next(r for r in plain if r["name"] == "一支部")
    assert own["rank"] > 20 and body["branches"][20] == dict(own, mine=True) and len(body["branches"]) == 21
    page = client.get(f"/challenges/{crowded.id}")
    html = page.get_data(as_text=True)
    assert 'class="mine"' in html and "一支部" in html and "28" in html


@pytest.mark.parametrize("sort", ["levels", "participation", "score"])
def test_every_page_of_the_api_equals_ranking_on_the_spot(client, db, tree, crowded, sort):
    from tests.api.test_api import auth, token_for

    headers = auth(token_for(client, "g1member"))
    plain = _plain(crowded, sort)
    for page in (1, 2, 3):
        got = client.get(f"/api/v1/challenges/{crowded.id}/leaderboard?board=branches&sort={sort}&page={page}",
                         headers=headers).get_json()
        assert got["branches"] == plain[(page - 1) * 20:page * 20]


def test_one_worker_builds_while_the_others_serve_the_last_build(app, client, db, tree, campaign, clock, later):
    login(client, "member", PASSWORD)
    play(member(db, tree), campaign.levels[0])
    db.session.commit()
    before = _poll(client, campaign).get_json()
    from learning.cache import cache

    with app.app_context():
        assert cache().claim(f"board:{campaign.id}:building", 60)  # someone else is building
    play(member(db, tree, "g1_member"), campaign.levels[0])
    db.session.commit()
    later(0.01)
    assert _poll(client, campaign).get_json()["members"] == before["members"]  # the last build meanwhile
    with app.app_context():
        cache().release(f"board:{campaign.id}:building")
    assert len(_poll(client, campaign).get_json()["members"]) == 2


def test_a_build_is_renewed_after_its_maximum_age(app, client, db, tree, campaign, clock, later):
    login(client, "member", PASSWORD)
    first = _poll(client, campaign).headers["ETag"]
    later(app.config["QUIZ_BOARD_MAX_AGE_SECONDS"] - 1)
    assert _poll(client, campaign, first).status_code == 304
    later(2)
    assert _poll(client, campaign, first).status_code == 200


def test_a_busy_board_is_rebuilt_at_its_pace(app, client, db, tree, campaign, clock, later, monkeypatch):
    """Results every few seconds do not rebuild a big board each time: building takes at most
    QUIZ_BOARD_BUILD_SHARE of the time (a build of 1 s: one every 10 s), and only a few builds are kept."""
    login(client, "member", PASSWORD)
    builds = []
    ranking = boards.branch_figures

    def a_second_to_build(challenge):
        builds.append(1)
        later(1)
        return ranking(challenge)

    monkeypatch.setattr(boards, "branch_figures", a_second_to_build)
    for key in ["b1_member", "g1_member", "b2_member", "b1_secretary"]:
        play(member(db, tree, key), campaign.levels[0])
        db.session.commit()
        _poll(client, campaign)
        later(4)  # a result every 4 seconds
    assert len(builds) == 2  # at 0 s and 13 s, not four times
    assert boards._pace(1.0) == 10 and boards._keep_seconds(1.0) == 90
    monkeypatch.setattr(boards, "branch_figures", ranking)  # builds that take no time (on this clock)
    later(10)
    assert len(_poll(client, campaign).get_json()["members"]) == 4
    play(member(db, tree, "b2_secretary"), campaign.levels[0])
    db.session.commit()
    later(0.01)  # a board that builds at once is rebuilt at once
    assert len(_poll(client, campaign).get_json()["members"]) == 5


@pytest.fixture
def redis_cache(app):
    import redis

    try:
        server = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        server.ping()
    except Exception as exc:  # refused, not installed
        if IN_CI:
            pytest.fail(f"Redis at {REDIS_URL} does not answer ({exc}); CI starts it", pytrace=False)
        pytest.skip(f"Redis at {REDIS_URL} does not answer")
    server.flushdb()
    app.config["CACHE_URL"] = REDIS_URL
    app.extensions.pop("learning-cache", None)
    yield server
    app.config["CACHE_URL"] = ""
    app.extensions.pop("learning-cache", None)
    server.flushdb()


def test_workers_share_the_build_through_redis(app, client, db, tree, crowded, redis_cache, monkeypatch):
    login(client, "member", PASSWORD)
    body = _poll(client, crowded).get_json()
    assert body["branches"][:20] == _plain(crowded)[:20] and body["branches"][-1]["mine"] is True
    assert redis_cache.get(f"board:{crowded.id}") is not None
    # another worker (a cache object of its own) reads the same build from Redis without building one
    app.extensions.pop("learning-cache")

    def no_build(challenge):
        raise AssertionError("built again")

    monkeypatch.setattr(boards, "build", no_build)
    assert _poll(client, crowded).get_json() == body
