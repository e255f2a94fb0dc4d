"""The answer path under gunicorn and PostgreSQL, next to a bare Flask endpoint in the same run.

A city-wide month-long campaign recorded 7,650,000 answers (about 3 a second on average; the
evening peaks are two orders of magnitude above that).  This script:

1. fills a database of its own (default learning_bench_quiz) with an organisation, MEMBERS members
   with API tokens, the shipped question banks and a campaign whose level has 50 questions and an
   hour per question, and starts one attempt per member;
2. starts gunicorn (WORKERS sync workers) on bench/wsgi_answers.py;
3. for SECONDS each, runs CLIENTS client processes that send, as fast as answers come back,
   (a) PUT /bench/bare (no database) and (b) PUT /api/v1/attempts/{token}/items/{n} with a bearer
   token — each a real answer, authenticated, validated, recorded and committed;
4. prints requests per second and the 95th percentile latency of each, and their ratio.

    createdb -h 127.0.0.1 -U postgres learning_bench_quiz
    .venv/bin/python bench/answers.py [--workers 4] [--clients 8] [--seconds 20] [--members 400]
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

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/learning_bench_quiz"


def prepare(url: str, members: int) -> list[tuple[str, str, int]]:
    """(api token, attempt token, question count) per member, in a freshly emptied database."""
    os.environ["LEARNING_DATABASE_URL"] = url
    from datetime import timedelta

    from learning import create_app
    from learning.accounts.services import create_account, issue_token
    from learning.db import utcnow
    from learning.extensions import db
    from learning.orgs.models import OrgKind
    from learning.orgs.services import create_member, create_organisation
    from learning.points.services import load_rules
    from learning.quizzes import challenges
    from learning.quizzes.banks import import_content

    app = create_app()
    with app.app_context():
        db.drop_all()
        db.create_all()
        load_rules(ROOT / "learning" / "content" / "points" / "rules.yaml")
        assert import_content(ROOT / "learning" / "content" / "quizzes").ok
        committee = create_organisation("市委", OrgKind.COMMITTEE)
        branches = [create_organisation(f"支部{i}", OrgKind.BRANCH, committee) for i in range(20)]
        challenge = challenges.create_challenge(committee, challenges.ChallengeSpec(
            "基准测试闯关", "", utcnow() - timedelta(days=1), utcnow() + timedelta(days=30), 1000,
            [1, 2], [challenges.LevelSpec("第一关", 50, 60, 3600, 3)]))
        challenges.publish(challenge)
        out = []
        for i in range(members):
            member = create_member(f"党员{i}", branches[i % 20])
            account = create_account(f"bench{i}", "Bench-password-1", member=member)
            token = issue_token(account, "bench").token
            attempt, _ = challenges.start_level(member, challenge.levels[0])
            out.append((token, attempt.token, attempt.question_count))
        db.session.commit()
    return out


def client(port: int, kind: str, work: list, seconds: float, seed: int, queue) -> None:
    rng = random.Random(seed)
    deadline = time.perf_counter() + seconds
    latencies, errors = [], 0
    while time.perf_counter() < deadline:
        api_token, attempt, count = rng.choice(work)
        position = rng.randint(1, count)
        if kind == "bare":
            path, headers = "/bench/bare", {"Content-Type": "application/json"}
        else:
            path = f"/api/v1/attempts/{attempt}/items/{position}"
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {api_token}"}
        body = json.dumps({"choices": [rng.choice("ab")]})
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("PUT", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            # 422: a fill-in question answered with a letter; still a full trip through the answer path.
            if response.status not in (200, 422):
                errors += 1
        finally:
            conn.close()
        latencies.append(time.perf_counter() - started)
    queue.put((latencies, errors))


def run(port: int, kind: str, work: list, clients: int, seconds: float) -> dict:
    queue = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=client, args=(port, kind, work, seconds, i, queue)) for i in range(clients)]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    latencies = sorted(x for lat, _e in results for x in lat)
    errors = sum(e for _l, e in results)
    return {"requests": len(latencies), "per_second": len(latencies) / seconds, "errors": errors,
            "p50_ms": statistics.median(latencies) * 1000,
            "p95_ms": latencies[int(len(latencies) * 0.95) - 1] * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("LEARNING_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--members", type=int, default=400)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    started = time.perf_counter()
    work = prepare(args.url, args.members)
    print(f"prepared {len(work)} members with open attempts in {time.perf_counter() - started:.1f} s")
    env = {**os.environ, "LEARNING_DATABASE_URL": args.url, "LEARNING_RATELIMIT_ENABLED": "0",
           "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "--workers", str(args.workers), "--bind",
         f"127.0.0.1:{args.port}", "--log-level", "warning", "bench.wsgi_answers:app"], cwd=ROOT, env=env)
    try:
        for _ in range(100):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=1)
                conn.request("PUT", "/bench/bare")
                conn.getresponse().read()
                break
            except OSError:
                time.sleep(0.2)
        run(args.port, "bare", work, args.clients, 2)  # warm up both paths
        run(args.port, "answer", work, args.clients, 2)
        bare = run(args.port, "bare", work, args.clients, args.seconds)
        answer = run(args.port, "answer", work, args.clients, args.seconds)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    print(f"gunicorn {args.workers} sync workers, {args.clients} client processes, {args.seconds:.0f} s each, "
          f"{os.cpu_count()} CPUs shared by server, clients and PostgreSQL")
    for name, r in (("bare Flask endpoint", bare), ("answer (PUT item)", answer)):
        print(f"{name:22s} {r['per_second']:8.0f} req/s   p50 {r['p50_ms']:6.1f} ms   p95 {r['p95_ms']:6.1f} ms"
              f"   ({r['requests']} requests, {r['errors']} errors)")
    print(f"ratio answers/bare: {answer['per_second'] / bare['per_second']:.2f}")
    month = 7_650_000 / (30 * 24 * 3600)
    print(f"a 7.65M-answer month averages {month:.1f} answers/s; this run's answer rate is "
          f"{answer['per_second'] / month:.0f}× that")


if __name__ == "__main__":
    main()
