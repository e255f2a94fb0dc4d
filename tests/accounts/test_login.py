"""Logging in and out, the login rate limit, CSRF, and password changes over HTTP."""
from learning.accounts.models import Account
from learning.orgs.models import Member
from tests.conftest import switch_language, csrf_token, login
from tests.factories import PASSWORD


def test_login_page_is_chinese_by_default(client):
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "登录" in html and "用户名" in html


def test_a_member_logs_in_and_sees_the_home_page(client, tree):
    response = login(client, "member", PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    html = client.get("/").get_data(as_text=True)
    assert "王党员" in html and "一支部" in html


def test_a_wrong_password_gets_a_clear_message_and_no_session(client, tree):
    response = login(client, "member", "wrong-password1")
    assert response.status_code == 200
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still logged out


def test_an_unknown_user_gets_the_same_message(client, tree):
    response = login(client, "nobody", "wrong-password1")
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_failed_logins_are_rate_limited(client, tree):
    for _ in range(5):
        assert login(client, "member", "wrong-password1").status_code == 200
    blocked = login(client, "member", PASSWORD)
    assert blocked.status_code == 429
    assert "尝试次数过多" in blocked.get_data(as_text=True)


def test_successful_logins_do_not_use_up_the_limit(client, tree):
    for _ in range(7):
        assert login(client, "member", PASSWORD).status_code == 302
        client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})


def test_a_post_without_csrf_token_is_refused(client, tree):
    response = client.post("/login", data={"username": "member", "password": PASSWORD})
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_logout_needs_a_post_with_csrf(client, tree):
    login(client, "member", PASSWORD)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})
    assert client.get("/").status_code == 302


def test_login_does_not_redirect_off_site(client, tree):
    token = csrf_token(client, "/login")
    response = client.post(
        "/login?next=//evil.example/steal", data={"username": "member", "password": PASSWORD, "csrf_token": token}
    )
    assert response.headers["Location"] == "/"


def test_login_returns_to_the_page_asked_for(client, tree):
    token = csrf_token(client, "/login")
    response = client.post(
        "/login?next=/account", data={"username": "member", "password": PASSWORD, "csrf_token": token}
    )
    assert response.headers["Location"] == "/account"


def test_an_inactive_member_cannot_log_in(client, db, tree):
    db.session.get(Member, tree["members"]["b1_member"]).active = False
    db.session.commit()
    assert "用户名或密码错误" in login(client, "member", PASSWORD).get_data(as_text=True)


def test_session_cookie_is_http_only_and_lax(client, tree):
    response = login(client, "member", PASSWORD)
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def _change(client, current, new, confirm=None):
    token = csrf_token(client, "/account")
    return client.post(
        "/account",
        data={"current_password": current, "new_password": new, "confirm": confirm or new, "csrf_token": token},
    )


def test_password_change_validates_every_field(client, tree):
    login(client, "member", PASSWORD)
    assert "当前密码不正确" in _change(client, "wrong", "NewPassw0rd").get_data(as_text=True)
    assert "两次输入的密码不一致" in _change(client, PASSWORD, "NewPassw0rd", "Other0000").get_data(as_text=True)
    assert "至少需要 8 个字符" in _change(client, PASSWORD, "a1").get_data(as_text=True)
    assert "同时包含字母和数字" in _change(client, PASSWORD, "onlyletters").get_data(as_text=True)


def test_password_change_ends_other_sessions(app, client, tree):
    other = app.test_client()
    login(client, "member", PASSWORD)
    login(other, "member", PASSWORD)
    response = _change(client, PASSWORD, "NewPassw0rd")
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # this session continues
    assert other.get("/").status_code == 302  # the other one is logged out
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})
    assert login(client, "member", PASSWORD).status_code == 200
    assert login(client, "member", "NewPassw0rd").status_code == 302


def test_a_temporary_password_must_be_changed_first(client, db, tree):
    db.session.get(Account, tree["accounts"]["member"]).must_change_password = True
    db.session.commit()
    login(client, "member", PASSWORD)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert _change(client, PASSWORD, "NewPassw0rd").status_code == 302
    assert client.get("/").status_code == 200


def test_english_can_be_chosen(client, tree):
    login(client, "member", PASSWORD)
    switch_language(client, "en")
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in html and "Log out" in html
    switch_language(client, "zh_Hans_CN")
    assert "退出" in client.get("/").get_data(as_text=True)


def test_the_language_choice_stays_with_the_account(app, client, db, tree):
    login(client, "member", PASSWORD)
    switch_language(client, "en")
    fresh = app.test_client()
    login(fresh, "member", PASSWORD)
    assert '<html lang="en">' in fresh.get("/").get_data(as_text=True)
