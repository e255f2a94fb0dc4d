"""The bearer token's check as SQL, for the hot paths that are one PostgreSQL statement
(``courses.beat_sql``, ``quizzes.answer_sql``): :func:`accounts.services.member_id_for_token`'s rules —
not revoked, not expired, account and member active, good for everything (no temporary password) —
as a CTE ``tok`` (the token's id, its last use and the member), and the once-a-minute note of its
use as a CTE that runs only when the call's own write (the CTE named by ``after``) did.  ``tok`` also
sets ``synchronous_commit`` for the statement's own (implicit) transaction, which its commit reads:
``%(synchronous_commit)s`` — ``off`` unless ``LEARNING_DB_HOT_ASYNC_COMMIT`` is off (:func:`commit_mode`).

A token that fails any rule matches nothing, so the statement writes nothing and the call goes the
checked way, which answers 401 or 403 as before.  Parameters: ``%(digest)s`` (the token's digest)
and ``%(token_now)s`` (the accounts' clock)."""
from __future__ import annotations

from flask import current_app

from learning.accounts.models import TokenScope

TOKEN = f"""tok AS (
    SELECT t.id, t.last_used_at, a.member_id, set_config('synchronous_commit', %(synchronous_commit)s, true)
    FROM api_token t JOIN account a ON a.id = t.account_id JOIN member m ON m.id = a.member_id
    WHERE t.token_hash = %(digest)s AND t.revoked_at IS NULL AND t.expires_at > %(token_now)s
      AND a.active AND m.active AND t.scope = '{TokenScope.FULL.value}' AND NOT a.must_change_password
)"""


def token_used(after: str) -> str:
    """The CTE noting the token's use (``accounts.services._stale``: once a minute) when ``after`` wrote."""
    return f"""used AS (
    UPDATE api_token t SET last_used_at = %(token_now)s FROM tok
    WHERE t.id = tok.id AND (tok.last_used_at IS NULL OR tok.last_used_at < %(token_now)s - interval '1 minute')
      AND EXISTS (SELECT FROM {after})
)"""


def commit_mode() -> str:
    """``synchronous_commit`` for a hot statement: its commit need not wait for the disk (a crash of
    PostgreSQL may lose the last ~0.6 s of beats and answers, never part of one) unless configured."""
    return "off" if current_app.config.get("DB_HOT_ASYNC_COMMIT", True) else "on"
