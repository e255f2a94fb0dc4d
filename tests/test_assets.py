"""Static URLs carry a digest of the file: a release that changes it is fetched at once, an
unchanged file is cached for a year."""
import hashlib
import os

from flask import url_for

from learning.config import PACKAGE_DIR


def test_a_static_url_names_the_digest_of_its_file_and_changes_with_it(app, tmp_path, monkeypatch):
    css = PACKAGE_DIR / "static" / "css" / "app.css"
    with app.test_request_context():
        shipped = url_for("static", filename="css/app.css")
    assert shipped == f"/static/css/app.css?v={hashlib.sha256(css.read_bytes()).hexdigest()[:12]}"

    (tmp_path / "site.js").write_text("console.log(1)")
    monkeypatch.setattr(app, "static_folder", str(tmp_path))
    with app.test_request_context():
        before = url_for("static", filename="site.js")
        (tmp_path / "site.js").write_text("console.log(2)")  # the upgrade
        stat = (tmp_path / "site.js").stat()
        os.utime(tmp_path / "site.js", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
        after = url_for("static", filename="site.js")
        missing = url_for("static", filename="nowhere.js")
    assert before == f"/static/site.js?v={hashlib.sha256(b'console.log(1)').hexdigest()[:12]}"
    assert after == f"/static/site.js?v={hashlib.sha256(b'console.log(2)').hexdigest()[:12]}"
    assert missing == "/static/nowhere.js"


def test_versioned_static_files_are_cached_for_a_year_and_unversioned_ones_revalidated(client):
    with client.application.test_request_context():
        versioned = url_for("static", filename="css/app.css")
    answer = client.get(versioned)
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    plain = client.get("/static/css/app.css")
    assert plain.headers["Cache-Control"] == "no-cache" and plain.headers.get("ETag")
    assert client.get("/login").headers["Cache-Control"] == "no-store"


def test_the_stylesheet_has_no_stray_brace():
    """A stray ``}`` makes browsers drop the rule after it (the section navigation's style was lost so)."""
    depth = 0
    for number, line in enumerate((PACKAGE_DIR / "static" / "css" / "app.css").read_text(encoding="utf-8").splitlines(), 1):
        for char in line:
            depth += {"{": 1, "}": -1}.get(char, 0)
            assert depth >= 0, f"app.css line {number}: a closing brace without its opening one"
    assert depth == 0, "app.css: an opening brace is never closed"


def test_the_stylesheet_sizes_type_and_space_from_its_scales():
    """One type scale and one spacing scale (the custom properties at the top of app.css): a size or
    a space written as a literal rem elsewhere is a page drifting from the system."""
    import re

    css = (PACKAGE_DIR / "static" / "css" / "app.css").read_text()
    root, rest = css.split("}", 1)[0], css.split("}", 1)[1]
    scale = dict(re.findall(r"--(fs-\w+|sp-\d): ([.\d]+)rem", root))
    assert float(scale["fs-xs"]) * 16 >= 12  # nothing smaller than 12 px
    assert [float(scale[f"sp-{i}"]) for i in range(1, 8)] == sorted(float(scale[f"sp-{i}"]) for i in range(1, 8))
    drifting = [m.group(0) for m in re.finditer(r"(?<![-\w])(font-size|padding[-a-z]*|margin[-a-z]*|(?:row-|column-)?gap): ([^;}]*)", rest)
                if re.search(r"(?<![-\w.])\.?\d[.\d]*rem", m.group(2)) and "clamp(" not in m.group(2)]
    assert drifting == []
    small = re.findall(r"font-size: (\d+)px", rest)
    assert all(int(px) >= 12 for px in small), small
