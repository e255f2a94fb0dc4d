"""Chinese first: every user-facing string is in the catalogue, translated, and the catalogue compiles."""
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "learning" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
METHODS = [("learning/**.py", "python"), ("learning/templates/**.html", "jinja2")]


def source_messages() -> set[str]:
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=METHODS, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_in_the_code_has_a_chinese_translation():
    with CATALOGUE.open("rb") as fh:
        catalogue = read_po(fh)
    translated = {m.id for m in catalogue if m.id and m.string and not m.fuzzy}
    missing = sorted(source_messages() - translated)
    assert missing == [], f"run `make messages` and translate: {missing}"


def test_the_locale_folder_has_the_required_name():
    assert CATALOGUE.exists()
    assert (CATALOGUE.parent.parent.name) == "zh_Hans_CN"


def test_placeholders_survive_translation():
    import re

    with CATALOGUE.open("rb") as fh:
        catalogue = read_po(fh)
    for message in catalogue:
        if message.id:
            assert set(re.findall(r"%\(\w+\)\w", message.id)) == set(re.findall(r"%\(\w+\)\w", message.string)), message.id


def test_templates_carry_no_bare_chinese_text():
    """Chinese words belong in the catalogue, so the English locale shows no Chinese."""
    import re

    offenders = []
    for template in (ROOT / "learning" / "templates").rglob("*.html"):
        for number, line in enumerate(template.read_text(encoding="utf-8").splitlines(), 1):
            stripped = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", line).replace("简体中文", "")
            if re.search(r"[\u4e00-\u9fff]", stripped):
                offenders.append(f"{template.relative_to(ROOT)}:{number}")
    assert offenders == []


def test_translations_hold_no_bare_percent_sign():
    """Templates format every translation with its variables, so a lone % breaks the page."""
    import re

    with CATALOGUE.open("rb") as fh:
        catalogue = read_po(fh)
    for message in catalogue:
        if message.id:
            assert not re.search(r"%(?![(%])", message.id), message.id
            assert not re.search(r"%(?![(%])", message.string), message.id
