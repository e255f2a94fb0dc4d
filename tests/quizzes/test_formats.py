"""GIFT, Aiken and YAML imports: Moodle's documented examples, malformed files, and the GIFT round trip."""
from pathlib import Path

import pytest
from sqlalchemy import func, select

from learning.quizzes import banks as bank_service
from learning.quizzes.formats import export_gift, parse_aiken, parse_gift, parse_yaml
from learning.quizzes.models import Question, QuestionKind

DATA = Path(__file__).parent / "data"


def test_moodles_gift_examples_parse_into_our_four_types():
    result = parse_gift((DATA / "moodle_examples.gift").read_text(encoding="utf-8"))
    assert result.errors == []
    by_stem = {(q.stem, q.stem_after): q for q in result.questions}
    assert len(result.questions) == 14

    q1 = result.questions[0]
    assert (q1.title, q1.kind, q1.stem) == ("Q1", QuestionKind.TRUE_FALSE, "1+1=2")
    assert [a["weight"] for a in q1.answers] == [100, 0]  # true is right

    q2 = result.questions[1]
    assert q2.kind is QuestionKind.SINGLE and [a["text"] for a in q2.answers] == ["yellow", "red", "blue"]
    assert q2.answers[0]["feedback"] == "right; good!" and q2.answers[1]["feedback"] == "wrong, it's yellow"

    q3 = result.questions[2]  # missing word, fill-in
    assert (q3.kind, q3.stem, q3.stem_after) == (QuestionKind.FILL_BLANK, "Two plus", "equals four.")
    assert [a["text"] for a in q3.answers] == ["two", "2"]

    mw = by_stem[("Grant is", "in Grant's tomb.")]
    assert mw.kind is QuestionKind.SINGLE and [a["weight"] for a in mw.answers] == [0, 100, 0]

    weighted = by_stem[("What two people are entombed in Grant's tomb?", "")]
    assert weighted.kind is QuestionKind.MULTIPLE
    assert [a["weight"] for a in weighted.answers] == [-100, 50, 50, -100]

    tomb = next(q for q in result.questions if q.title == "Grants tomb")
    assert tomb.answers[4] == {"text": "Mother Teresa", "weight": 0, "feedback": "She was buried in India"}

    tf = next(q for q in result.questions if q.answers[0]["feedback"] == "No one is buried in Grant's tomb.")
    # {FALSE#wrong#right}: the first feedback is for the wrong answer (true), the second for the right one.
    assert [a["weight"] for a in tf.answers] == [0, 100] and tf.answers[1]["feedback"] == "You got it!"

    general = by_stem[("What's 2+2?", "")]
    assert general.kind is QuestionKind.FILL_BLANK and general.explanation == "The correct answer is 4."

    escaped = by_stem[("Which answer equals 5?", "")]
    assert [a["text"] for a in escaped.answers] == ["= 2 + 2", "= 2 + 3", "= 2 + 4"]
    assert escaped.category == "tom/dick/harry"
    assert by_stem[("Who's **buried** in Grant's tomb?", "")].kind is QuestionKind.FILL_BLANK


@pytest.mark.parametrize("text, line, expected", [
    ("Fine question {T}\n\n::Q2:: Broken {=a ~b\n", 3, "no closing }"),
    ("// comment\n\nWhat is 1+1? {#2:0}\n", 3, "numerical"),
    ("Match {=cat -> cat food =dog -> dog food}\n", 1, "matching"),
    ("How are you? {}\n", 1, "essay"),
    ("A statement with no answers at all\n", 1, "expected an answer block"),
    ("Pick {~a ~b ~c}\n", 1, "no option is marked right"),
    ("Pick {~%50%a ~%20%b ~c}\n", 1, "add up to one hundred per cent"),
    ("Pick {=a =b ~a}\n", 1, "same text"),
    ("Pick {?a ?b}\n", 1, "expected an answer starting with = or ~"),
])
def test_malformed_gift_names_the_line_and_what_was_expected(text, line, expected):
    result = parse_gift(text)
    assert result.errors, text
    error = result.errors[-1]
    assert error.line == line and expected in error.message


def test_moodles_aiken_example_and_malformed_aiken():
    result = parse_aiken((DATA / "moodle_examples.txt").read_text(encoding="utf-8"))
    assert result.errors == []
    first, second = result.questions
    assert first.stem == "What is the correct answer to this question?" and first.answers[3]["weight"] == 100
    assert len(second.answers) == 6 and second.answers[0] == {"text": "Moodle", "weight": 100.0, "feedback": ""}

    bad = parse_aiken("Question one?\nA. yes\nB. no\nANSWER: C\n\nQuestion two?\nA. x\nC. y\nANSWER: A\n"
                      "Question three?\nA. x\nB. y\n")
    assert [(e.line, e.message.split(";")[0]) for e in bad.errors] == [
        (4, "ANSWER: C names no option"),
        (8, "expected option B, found C"),
        (9, "expected a question line before the options and the ANSWER line"),
        (10, "this question has no ANSWER: line"),
    ]


def test_yaml_errors_name_the_question_line_and_field():
    bank, result = parse_yaml("title: 测试\nquestions:\n  - {type: single, question: 好吗, options: [是, 否], answer: C}\n"
                              "  - {type: essay, question: 写一写}\n  - {type: true_false, question: 对吗, answer: 对, colour: red}\n")
    assert bank["title"] == "测试" and result.questions == []
    assert [(e.line, e.message.split(":")[0].split(";")[0]) for e in result.errors] == [
        (3, "answer"), (4, "type"), (5, "unknown field 'colour'")]


def test_gift_export_then_import_gives_the_same_questions(db):
    source = parse_gift((DATA / "moodle_examples.gift").read_text(encoding="utf-8")).questions
    shipped = parse_yaml((Path(bank_service.__file__).parents[1] / "content/quizzes/banks/party-basics.yaml")
                         .read_text(encoding="utf-8"))[1].questions
    for questions in (source, shipped):
        again = parse_gift(export_gift(questions, bank_title="题库：测试"))
        assert again.errors == []
        assert [q.fingerprint() for q in again.questions] == [q.fingerprint() for q in questions]


def test_a_file_with_one_error_imports_nothing_and_a_good_upload_updates_by_id(db, tree):
    bank = bank_service.create_bank("uploads", "上传题库")
    bad = "::a:: 第一题 {T}\n\n::b:: 第二题 {=对 ~错\n"
    report = bank_service.import_upload(bank, "mixed.gift", bad.encode())
    # In the app (here, its default language) the errors are Chinese; outside it, the source English above.
    assert not report.ok and report.errors == ["mixed.gift:3: 此处开始的答案块缺少结尾的 }"]
    assert db.session.scalar(select(func.count()).select_from(Question)) == 0

    assert bank_service.import_upload(bank, "q.gift", "::a:: 第一题 {T}\n\n::b:: 第二题 {=对 ~错}\n".encode()).created == 2
    again = bank_service.import_upload(bank, "q.gift", "::a:: 第一题 {F}\n\n::b:: 第二题 {=对 ~错}\n".encode())
    assert (again.created, again.updated, again.unchanged) == (0, 1, 1)
    assert bank_service.import_upload(bank, "x.gift", b"\xff\xfe").errors == ["x.gift:1: 文件不是 UTF-8 文本"]
    duplicate = bank_service.import_upload(bank, "d.gift", "::a:: 一 {T}\n\n::a:: 二 {F}\n".encode())
    assert duplicate.errors == ["d.gift:3: 题目编号 'a' 已在第 1 行使用"]


def test_the_shipped_banks_hold_at_least_150_questions_of_every_type(db, tree, banks):
    assert banks.banks == ["park-enterprise", "party-basics"]
    kinds = dict(db.session.execute(select(Question.kind, func.count()).group_by(Question.kind)).all())
    assert sum(kinds.values()) >= 150 and set(kinds) == set(QuestionKind)
    assert banks.quizzes == ["daily", "party-discipline-quiz", "data-security-quiz"]
    # Importing again changes nothing.
    again = bank_service.import_content(Path(bank_service.__file__).parents[1] / "content/quizzes")
    assert again.created == again.updated == again.retired == 0 and again.unchanged == sum(kinds.values())
