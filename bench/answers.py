"""The hottest API calls under gunicorn and PostgreSQL — a quiz answer and a study heartbeat — next to
a bare Flask endpoint in the same application, phases interleaved in one run.

1. fills a database of its own (default learning_bench_quiz; created here, and only a database this
   script marked as its own is ever emptied) with MEMBERS members with API tokens, the shipped
   question banks and a campaign level of 50 questions, one open attempt and one study session each;
2. starts gunicorn (WORKERS workers of THREADS threads, as `learning serve` by default) on bench/wsgi_answers.py;
3. runs ROUNDS rounds of four phases of SECONDS each — bare, answer, bare, heartbeat — with CLIENTS
   client processes sending as fast as answers come back: PUT /bench/bare; PUT /api/v1/attempts/…/items/n
   (an answer of the question's kind, authenticated, validated, recorded, committed); POST
   /api/v1/study-sessions/…/heartbeats (each client beats its own sessions, seq rising; the lesson
   needs a day, so no beat completes it: a completing beat, one per lesson, takes the checked way);
4. counts only 2xx answers (anything else is reported as an error) and prints requests per second,
   p50/p95 latency, and each path's ratio to the bare endpoint's rate.

    .venv/bin/python bench/answers.py [--workers 2] [--threads 4] [--clients 8] [--seconds 5] [--rounds 3] [--members 400] [--floors]

``--floors`` adds phases that show how near 0.5 a heartbeat can come on the machine: the least a beat
writes (token, session, progress) in raw SQL, as four statements in a transaction, as the heartbeat's
own two round trips in autocommit, as one statement in autocommit, and that one statement with the
token checked in SQL behind flask-smorest's validation and response schema (a hot path whose rules
live in the database).
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/learning_bench_quiz"
MARK = "bench_answers_owns_this_database"


def own_database(url: str) -> None:
    """Create the database if it does not exist; refuse one that holds tables this script did not make."""
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        if tables and MARK not in tables:
            raise SystemExit(f"{name} holds tables this benchmark did not create; give it an empty database")
        if not tables:
            conn.execute(f"CREATE TABLE {MARK} (made_at timestamptz DEFAULT now())")
            conn.execute(f"INSERT INTO {MARK} DEFAULT VALUES")


def prepare(url: str, members: int) -> list[dict]:
    """Per member: API token, attempt token, each position's answer, study session token."""
    os.environ["LEARNING_DATABASE_URL"] = url
    os.environ["LEARNING_PASSWORD_HASH_METHOD"] = "pbkdf2:sha256:1000"  # the accounts are made, not guessed
    from datetime import timedelta

    from sqlalchemy import select

    from learning import create_app
    from learning.accounts.services import create_account, issue_token
    from learning.courses import study
    from learning.courses.content import import_courses
    from learning.courses.models import Lesson
    from learning.db import utcnow
    from learning.extensions import db
    from learning.orgs.models import OrgKind
    from learning.orgs.services import create_member, create_organisation
    from learning.points.services import load_rules
    from learning.quizzes import challenges
    from learning.quizzes.banks import bank_by_slug, import_content
    from learning.quizzes.models import QuestionKind

    app = create_app({"MEDIA_DIR": str(ROOT / "bench" / ".media")})
    with app.app_context():
        keep = db.metadata.tables.keys()
        with db.engine.begin() as conn:  # empty only the app's tables; the mark stays
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete()) if table.name in keep and db.inspect(conn).has_table(table.name) else None
        db.create_all()
        load_rules(ROOT / "learning" / "content" / "points" / "rules.yaml")
        assert import_content(ROOT / "learning" / "content" / "quizzes").ok
        assert not import_courses(ROOT / "learning" / "content" / "courses").errors
        lesson = db.session.scalar(select(Lesson).where(Lesson.kind == "text").order_by(Lesson.id))
        # The ratio is about the common beat. The lesson's 120 s would be reached within a longer run
        # (--floors, --rounds 4), every session's in the same round, and each completing beat goes the
        # checked way with the point and the course (about six common beats): none may complete it here.
        lesson.min_seconds = 86_400
        committee = create_organisation("市委", OrgKind.COMMITTEE)
        branches = [create_organisation(f"支部{i}", OrgKind.BRANCH, committee) for i in range(20)]
        challenge = challenges.create_challenge(committee, challenges.ChallengeSpec(
            "基准测试闯关", "", utcnow() - timedelta(days=1), utcnow() + timedelta(days=30), 1000,
            [bank_by_slug("party-basics").id, bank_by_slug("park-enterprise").id],
            [challenges.LevelSpec("第一关", 50, 60, 3600, 3)]))
        challenges.publish(challenge)
        out = []
        for i in range(members):
            member = create_member(f"党员{i}", branches[i % 20])
            account = create_account(f"bench{i}", "Bench-password-1", member=member)
            token = issue_token(account, "bench").token
            attempt, _ = challenges.start_level(member, challenge.levels[0])
            answers = {}
            for item in attempt.items:
                kind = item.question.kind
                answers[item.position] = ({"text": "答案"} if kind is QuestionKind.FILL_BLANK
                                          else {"choices": ["a", "b"]} if kind is QuestionKind.MULTIPLE
                                          else {"choices": ["a"]})
            session = study.start_session(member, lesson)
            # the floors' writes go to a member of their own: thousands of updates of the heartbeat's
            # rows in a floor phase would leave the next round's heartbeats reading through dead rows
            twin = create_member(f"党员{i}乙", branches[i % 20])
            twin_token = issue_token(create_account(f"bench{i}b", "Bench-password-1", member=twin), "bench").token
            out.append({"api": token, "attempt": attempt.token, "answers": answers, "session": session.token,
                        "floor_api": twin_token, "floor_session": study.start_session(twin, lesson).token})
        db.session.commit()
    # Each run empties the tables with DELETE and refills them: without a vacuum, runs after runs
    # read through the dead rows of the ones before (278,000 in attempt_item after a day's runs).
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return out


def client(port: int, kind: str, work: list, seconds: float, seed: int, queue) -> None:
    rng = random.Random(seed)
    deadline = time.perf_counter() + seconds
    latencies, errors = [], 0
    seqs: dict[str, int] = {}
    while time.perf_counter() < deadline:
        member = rng.choice(work)
        bearer = member["floor_api"] if kind.startswith("floor") else member["api"]
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {bearer}"}
        if kind == "bare":
            method, path, body = "PUT", "/bench/bare", {"choices": ["a"]}
        elif kind == "answer":
            position = rng.choice(list(member["answers"]))
            method, path, body = "PUT", f"/api/v1/attempts/{member['attempt']}/items/{position}", member["answers"][position]
        elif kind in ("floor", "floor-two", "floor-one"):
            method, path, body = "POST", f"/bench/{kind}/{member['floor_session']}", {"seq": 1}
        elif kind == "floor-framework":
            method, path, body = "POST", f"/api/v1/bench/floor-framework/{member['floor_session']}", {"seq": 1}
        else:
            seq = seqs[member["session"]] = seqs.get(member["session"], member["seq_base"]) + 1
            method, path, body = "POST", f"/api/v1/study-sessions/{member['session']}/heartbeats", {"seq": seq}
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request(method, path, body=json.dumps(body), headers=headers)
            response = conn.getresponse()
            response.read()
            ok = 200 <= response.status < 300
        finally:
            conn.close()
        if ok:
            latencies.append(time.perf_counter() - started)
        else:
            errors += 1
    queue.put((latencies, errors))


def run(port: int, kind: str, work: list, clients: int, seconds: float, round_no: int) -> dict:
    queue = multiprocessing.Queue()
    # each client beats only its own members' sessions, so their seq numbers rise without races
    shares = [[dict(m, seq_base=1_000_000 * round_no) for m in work[i::clients]] for i in range(clients)]
    procs = [multiprocessing.Process(target=client, args=(port, kind, shares[i] if kind == "heartbeat" else work,
                                                          seconds, i + 100 * round_no, queue))
             for i in range(clients)]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    return {"latencies": [x for lat, _e in results for x in lat], "errors": sum(e for _l, e in results),
            "seconds": seconds}


def summary(phases: list[dict]) -> dict:
    latencies = sorted(x for p in phases for x in p["latencies"])
    seconds = sum(p["seconds"] for p in phases)
    return {"ok": len(latencies), "per_second": len(latencies) / seconds, "errors": sum(p["errors"] for p in phases),
            "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
            "p95_ms": latencies[max(int(len(latencies) * 0.95) - 1, 0)] * 1000 if latencies else float("nan")}


def lessons_completed(url: str) -> int:
    """Lessons the heartbeats completed during the run: none, as the lesson needs a day here (prepare)."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        return conn.execute("SELECT count(*) FROM lesson_progress WHERE completed_at IS NOT NULL").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("LEARNING_BENCH_QUIZ_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2, as `learning serve`)")
    parser.add_argument("--threads", type=int, default=4,
                        help="threads per worker (4 gthread, as `learning serve`); 1: sync workers, as the runs before")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--members", type=int, default=400)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--floors", action="store_true",
                        help="also time a heartbeat's least writes in raw SQL: 4 statements; 2, and 1, in autocommit")
    args = parser.parse_args()

    own_database(args.url)
    started = time.perf_counter()
    work = prepare(args.url, args.members)
    print(f"prepared {len(work)} members with open attempts and study sessions in {time.perf_counter() - started:.1f} s")
    env = {**os.environ, "LEARNING_DATABASE_URL": args.url, "LEARNING_RATELIMIT_ENABLED": "0", "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "--workers", str(args.workers), "--threads", str(args.threads),
         "--bind",
         f"127.0.0.1:{args.port}", "--log-level", "warning", "bench.wsgi_answers:app"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=open(ROOT / "bench" / ".answers-server.log", "w"))
    kinds = ("bare", "answer", "bare", "heartbeat") + (("floor", "bare", "floor-two", "floor-one", "floor-framework") if args.floors else ())
    phases: dict[str, list] = {kind: [] for kind in kinds}
    try:
        for _ in range(100):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=1)
                conn.request("PUT", "/bench/bare")
                conn.getresponse().read()
                break
            except OSError:
                time.sleep(0.2)
        for kind in phases:  # warm up every path
            run(args.port, kind, work, args.clients, 1, 0)
        for round_no in range(1, args.rounds + 1):
            for kind in kinds:
                phases[kind].append(run(args.port, kind, work, args.clients, args.seconds, round_no))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    one, five, _ = os.getloadavg()
    kind_of_worker = "sync workers" if args.threads == 1 else f"gthread workers × {args.threads} threads"
    print(f"gunicorn {args.workers} {kind_of_worker}, {args.clients} client processes, {args.rounds} rounds of "
          f"{'/'.join(kinds)} × {args.seconds:.0f} s, {os.cpu_count()} CPUs shared by server, clients and "
          f"PostgreSQL; load average {one:.2f} / {five:.2f}")
    results = {kind: summary(p) for kind, p in phases.items()}
    names = (("bare Flask endpoint", "bare"), ("answer (PUT item)", "answer"), ("heartbeat (POST)", "heartbeat"),
             ("floor: 4 raw statements", "floor"), ("floor: 2 in autocommit", "floor-two"),
             ("floor: 1 in autocommit", "floor-one"), ("floor: 1, through smorest", "floor-framework"))
    for name, kind in ((n, k) for n, k in names if k in results):
        r = results[kind]
        print(f"{name:22s} {r['per_second']:8.0f} req/s   p50 {r['p50_ms']:6.1f} ms   p95 {r['p95_ms']:6.1f} ms"
              f"   ({r['ok']} answered 2xx, {r['errors']} not)")
    per_round = kinds.count("bare")  # the bare phases of each round, interleaved with the others
    bare_by_round = [statistics.mean(len(p["latencies"]) / p["seconds"] for p in phases["bare"][i:i + per_round])
                     for i in range(0, len(phases["bare"]), per_round)]
    for kind, goal in (("answer", "≥ 0.5"), ("heartbeat", "≥ 0.5"), ("floor", "—"), ("floor-two", "—"),
                       ("floor-one", "—"), ("floor-framework", "—")):
        if kind not in results:
            continue
        rounds = " ".join(f"{len(p['latencies']) / p['seconds'] / bare:.2f}" for p, bare in zip(phases[kind], bare_by_round))
        print(f"ratio {kind}/bare: {results[kind]['per_second'] / results['bare']['per_second']:.2f}  (goal {goal}; "
              f"round by round {rounds})")
    completed = lessons_completed(args.url)
    print(f"lessons completed by the heartbeats during the run: {completed}"
          + ("" if not completed else " — such a beat takes the checked way (points, course); the ratio is not "
             "the common beat's alone"))


if __name__ == "__main__":
    main()
