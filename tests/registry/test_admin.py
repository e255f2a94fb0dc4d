"""The registry admin pages: superadmins only; credentials shown once; failed events retried."""
import json
import re
import time

from sqlalchemy import select

from learning.registry.models import EventStatus, RegistryConnection, RegistryEvent
from learning.registry.services import sign
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD


def test_a_superadmin_creates_a_connection_that_can_sign(app, client, db, tree, rules):
    login(client, "root", PASSWORD)
    token = csrf_token(client, "/admin/registry/")
    response = client.post("/admin/registry/", data={"csrf_token": token, "name": "市党员信息库"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    secret = re.search(r'<code class="secret" id="secret">([^<]+)</code>', html).group(1)
    assert "只显示这一次" in html
    listing = client.get("/admin/registry/").get_data(as_text=True)
    assert "市党员信息库" in listing and secret not in listing  # never shown again

    body = json.dumps({"events": [{"id": "x1", "type": "member.left", "occurred_at": "2026-11-01T08:00:00+08:00",
                                   "data": {"external_id": "NOPE"}}]}).encode()
    stamp = str(int(time.time()))
    response = app.test_client().post("/registry/v1/events", data=body, content_type="application/json",
                                      headers={"X-Registry-Timestamp": stamp, "X-Registry-Signature": sign(secret, stamp, body)})
    assert response.get_json()["results"][0]["status"] == "failed"
    log = client.get("/admin/registry/events?status=failed").get_data(as_text=True)
    assert "unknown member &#39;NOPE&#39;" in log or "unknown member 'NOPE'" in log

    connection = db.session.scalar(select(RegistryConnection))
    client.post(f"/admin/registry/{connection.id}/revoke", data={"csrf_token": csrf_token(client, "/admin/registry/")})
    stamp = str(int(time.time()))
    refused = app.test_client().post("/registry/v1/events", data=body, content_type="application/json",
                                     headers={"X-Registry-Timestamp": stamp, "X-Registry-Signature": sign(secret, stamp, body)})
    assert refused.status_code == 401


def test_retry_from_the_event_log(client, db, tree, rules):
    from learning.registry.services import create_connection, receive
    from learning.registry.services import parse_occurred_at

    issued = create_connection("库")
    db.session.commit()
    receive(issued.connection, [{"id": "e1", "type": "member.left", "occurred_at": parse_occurred_at("2026-11-01T08:00:00+08:00"),
                                 "data": {"external_id": "M-LATE"}}])
    from learning.orgs.models import Organisation
    from learning.orgs.services import create_member

    create_member("迟到", db.session.get(Organisation, tree["orgs"]["B1"]), external_id="M-LATE")
    db.session.commit()
    login(client, "root", PASSWORD)
    event = db.session.scalar(select(RegistryEvent))
    response = client.post(f"/admin/registry/events/{event.id}/retry",
                           data={"csrf_token": csrf_token(client, "/admin/registry/events")}, follow_redirects=True)
    assert "已生效" in response.get_data(as_text=True)
    db.session.refresh(event)
    assert event.status == EventStatus.APPLIED and event.attempts == 2


def test_other_administrators_have_no_registry_pages(client, tree):
    login(client, "orgadmin", PASSWORD)
    assert client.get("/admin/registry/").status_code == 403
    assert client.get("/admin/registry/events").status_code == 403
