"""deploy/nginx/learning.conf, as shipped, in front of `learning serve`, with Debian's nginx.

Only the lines marked SITE change (port, name, certificate, log and static paths, upstream); the
test then checks the file with ``nginx -t`` and serves the app through it over TLS on a port other
than 443, as a browser would: forms post, keep-alive reaches gunicorn, the request id is in both
logs, headers and gzip are on, static files are versioned and cached.
"""
from __future__ import annotations

import gzip
import hashlib
import http.cookiejar
import json
import os
import re
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from learning.config import PACKAGE_DIR
from tests.conftest import CSRF_RE, free_port
from tests.deploy.conftest import missing
from tests.factories import PASSWORD
from tests.servers import serve

REPO = Path(__file__).resolve().parents[2]
CONF = REPO / "deploy" / "nginx" / "learning.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def site_configuration(folder: Path, *, port: int, upstream: str) -> Path:
    """The shipped file with this machine's values on the SITE lines (each must occur once)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    text = CONF.read_text()
    for old, new in {
        "server 127.0.0.1:8000;": f"server {upstream};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{port} ssl http2;",
        "server_name learning.example.gov.cn;": "server_name 127.0.0.1 localhost;",
        "/etc/ssl/learning/fullchain.pem": str(cert),
        "/etc/ssl/learning/privkey.pem": str(key),
        "/var/log/nginx/learning.access.log": str(folder / "access.log"),
        "/var/log/nginx/learning.error.log": str(folder / "error.log"),
        "/opt/learning/venv/lib/python3.11/site-packages/learning/static/": f"{PACKAGE_DIR / 'static'}/",
    }.items():
        assert text.count(old) == 1, f"{old!r} should be in {CONF.name} once"
        text = text.replace(old, new)
    (folder / "learning.conf").write_text(text)
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / sub).mkdir(exist_ok=True)
    main = folder / "nginx.conf"
    main.write_text(f"""
{"user root;" if os.geteuid() == 0 else ""}
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/main-error.log;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    client_body_temp_path {folder}/body; proxy_temp_path {folder}/proxy; fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi; scgi_temp_path {folder}/scgi;
    access_log {folder}/main-access.log;
    include {folder}/learning.conf;
}}
""")
    return main


@pytest.fixture
def site(app, tree, tmp_path):
    """gunicorn (one worker, four threads, trusting one proxy) behind nginx on a TLS port."""
    if not os.path.exists(NGINX):
        missing("nginx", "nginx-light")
    log = (tmp_path / "gunicorn.log").open("w")
    process, base = serve(app, tmp_path, workers=1, threads=4, log=log, extra_env={
        "LEARNING_TRUSTED_PROXIES": "1", "LEARNING_SESSION_COOKIE_SECURE": "1"})
    folder = tmp_path / "nginx"
    folder.mkdir()
    port = free_port()
    main = site_configuration(folder, port=port, upstream=base.removeprefix("http://"))
    checked = subprocess.run([NGINX, "-t", "-c", str(main), "-p", str(folder)], capture_output=True, text=True)
    assert checked.returncode == 0 and "test is successful" in checked.stderr, checked.stderr
    nginx = subprocess.Popen([NGINX, "-c", str(main), "-p", str(folder), "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    public = f"https://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while True:
        try:
            urllib.request.urlopen(public + "/healthz", context=_tls(), timeout=2).read()
            break
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail((folder / "main-error.log").read_text())
            time.sleep(0.1)
    try:
        yield {"public": public, "upstream": base, "folder": folder, "gunicorn_log": tmp_path / "gunicorn.log"}
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test's own self-signed certificate
    return context


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def browser(*, follow: bool = True):
    handlers = [urllib.request.HTTPSHandler(context=_tls()),
                urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())]
    if not follow:
        handlers.append(NoRedirect())
    return urllib.request.build_opener(*handlers)


def get(opener, url: str, **headers):
    try:
        return opener.open(urllib.request.Request(url, headers=headers), timeout=10)
    except urllib.error.HTTPError as error:
        return error


def test_a_form_posted_through_nginx_on_a_port_other_than_443_succeeds(site):
    opener = browser(follow=False)
    page = get(opener, site["public"] + "/login").read().decode()
    token = next(g for g in CSRF_RE.search(page).groups() if g)
    form = urllib.parse.urlencode({"csrf_token": token, "username": "member", "password": PASSWORD}).encode()
    # A browser sends the page it came from; over https the app checks it against the Host (port included).
    request = urllib.request.Request(site["public"] + "/login", data=form,
                                     headers={"Referer": site["public"] + "/login", "Origin": site["public"]})
    try:
        answer = opener.open(request, timeout=10)
    except urllib.error.HTTPError as error:
        answer = error
    assert answer.status == 302, answer.read().decode()[:500]
    assert answer.headers["Location"] in ("/", site["public"] + "/")
    cookie = answer.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie
    home = get(opener, site["public"] + "/").read().decode()
    assert "退出" in home or "Log out" in home


def _upstream_ports(upstream_port: int) -> set[int]:
    """nginx's side of every TCP connection to gunicorn's port still known to the kernel (open,
    or closed within the last minute: TIME_WAIT)."""
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, remote = line.split()[1:3]
            if int(remote.rsplit(":", 1)[1], 16) == upstream_port:
                ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


def test_request_ids_headers_gzip_and_keep_alive_through_nginx(site):
    opener = browser()
    answer = get(opener, site["public"] + "/login", **{"Accept-Encoding": "gzip"})
    assert answer.status == 200 and answer.headers["Content-Encoding"] == "gzip"
    assert "<title>登录 · 党员学习</title>" in gzip.decompress(answer.read()).decode()
    headers = answer.headers
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["Strict-Transport-Security"].startswith("max-age=")  # https as seen by the app
    assert headers["Server"] == "nginx"  # no version
    request_id = headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)  # nginx's $request_id, taken by the app

    time.sleep(0.3)  # nginx writes its access line after the response
    ours = [json.loads(line) for line in site["gunicorn_log"].read_text().splitlines() if line.strip()]
    assert any(e.get("request_id") == request_id and e.get("path") == "/login" for e in ours)
    assert any(e.get("logger") == "gunicorn.error" and "Booting worker" in e["message"] for e in ours)
    nginx_lines = [json.loads(line) for line in (site["folder"] / "access.log").read_text().splitlines()]
    assert [e["uri"] for e in nginx_lines if e["request_id"] == request_id] == ["/login"]

    assert get(opener, site["public"] + "/metrics").status == 404  # the monitoring endpoint is not public
    assert urllib.request.urlopen(site["upstream"] + "/metrics", timeout=10).status == 200  # but Prometheus reads it

    upstream_port = int(site["upstream"].rsplit(":", 1)[1])
    before = _upstream_ports(upstream_port)
    for _ in range(20):
        assert get(opener, site["public"] + "/healthz").status == 200
    opened = _upstream_ports(upstream_port) - before
    assert len(opened) <= 1, f"20 requests opened {len(opened)} connections to gunicorn: no keep-alive"


def test_static_files_carry_their_version_and_are_cached_by_nginx(site):
    opener = browser()
    page = get(opener, site["public"] + "/login").read().decode()
    css_path = PACKAGE_DIR / "static" / "css" / "app.css"
    version = hashlib.sha256(css_path.read_bytes()).hexdigest()[:12]
    href = re.search(r'href="(/static/css/app\.css\?v=[0-9a-f]+)"', page).group(1)
    assert href == f"/static/css/app.css?v={version}"

    plain = get(opener, site["public"] + href, **{"Accept-Encoding": "identity"})
    assert plain.status == 200 and plain.read() == css_path.read_bytes()
    assert plain.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert plain.headers["X-Content-Type-Options"] == "nosniff"
    assert "X-Request-ID" not in plain.headers  # nginx served it, not the app
    compressed = get(opener, site["public"] + href, **{"Accept-Encoding": "gzip"})
    assert compressed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(compressed.read()) == css_path.read_bytes()
