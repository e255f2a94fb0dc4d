"""JSON shapes of the quizzes API (the mobile client).

The attempt schema is the contract that nothing in it gives an answer away: options are letters
over this attempt's own shuffled order, and there is no field for weights, feedback,
explanations or question ids until :class:`ReviewSchema`, after submission.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate
from learning.api.fields import Page, Text


class OptionSchema(Schema):
    id = fields.String(metadata={"description": "a letter, a b c …, over this attempt's own order"})
    text = fields.String()


class ItemSchema(Schema):
    position = fields.Integer(metadata={"description": "1-based; answer with PUT …/items/{position}"})
    kind = fields.String(metadata={"description": "single, multiple, true_false or fill_blank"})
    stem = fields.String()
    stem_after = fields.String(metadata={"description": "text after the blank, if the blank is mid-sentence"})
    options = fields.List(fields.Nested(OptionSchema))
    answered = fields.Boolean()
    choices = fields.List(fields.String(), metadata={"description": "the caller's own answer (letters)"})
    text = fields.String(allow_none=True, metadata={"description": "the caller's own answer (fill-in)"})


class QuizRefSchema(Schema):
    slug = fields.String()
    title = fields.String()
    kind = fields.String()
    pass_percent = fields.Integer()


class AttemptSchema(Schema):
    token = fields.String()
    quiz = fields.Nested(QuizRefSchema)
    status = fields.String(metadata={"description": "open, submitted or expired"})
    started_at = fields.DateTime()
    deadline = fields.DateTime(metadata={"description": "the server's; answers after it do not count"})
    remaining_seconds = fields.Integer()
    question_count = fields.Integer()
    answered_count = fields.Integer()
    items = fields.List(fields.Nested(ItemSchema))


class ReviewItemSchema(ItemSchema):
    correct = fields.Boolean()
    score = fields.Float(metadata={"description": "0–1"})
    right_choices = fields.List(fields.String())
    right_answers = fields.List(fields.String())
    feedback = fields.List(fields.String())
    explanation = fields.String()


class ReviewSchema(AttemptSchema):
    items = fields.List(fields.Nested(ReviewItemSchema))
    score = fields.Float(metadata={"description": "percent"})
    passed = fields.Boolean()
    correct_count = fields.Integer()
    seconds = fields.Integer()
    finished_at = fields.DateTime()
    key_shown = fields.Boolean(metadata={"description": "whether the right answers are included (see key_note)"})
    key_note = fields.String(allow_none=True, metadata={
        "description": "why they are not: practice after the day's first attempt, a course quiz not yet passed, "
                       "or a campaign that has not closed"})


class AnswerSchema(Schema):
    """One answer.  Choice questions send ``choices`` (letters), fill-in questions send ``text``."""

    choices = fields.List(Text(validate_with=[validate.Length(equal=1)]), validate=validate.Length(max=10))
    text = Text(validate_with=[validate.Length(max=200)])


class AnswerResultSchema(Schema):
    position = fields.Integer()
    answered_at = fields.DateTime(metadata={"description": "the server's time of the answer"})


class QuizSummarySchema(Schema):
    slug = fields.String()
    title = fields.String()
    kind = fields.String()
    question_count = fields.Integer()
    time_limit_seconds = fields.Integer()
    pass_percent = fields.Integer()
    course_id = fields.Integer(allow_none=True)
    unlocked = fields.Boolean()
    attempts_left = fields.Integer(allow_none=True)
    open_attempt = fields.String(allow_none=True, metadata={"description": "token of the caller's attempt in progress"})
    counted_score = fields.Float(allow_none=True, metadata={"description": "today's counted score (daily), or the grade that counts"})
    passed = fields.Boolean(allow_none=True)


class LevelSchema(Schema):
    position = fields.Integer()
    title = fields.String()
    question_count = fields.Integer()
    pass_percent = fields.Integer()
    time_limit_seconds = fields.Integer()
    points = fields.Integer()
    state = fields.String(metadata={"description": "passed, open or locked"})
    best_score = fields.Float(allow_none=True)


class ChallengeSummarySchema(Schema):
    id = fields.Integer()
    title = fields.String()
    organisation = fields.String()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    open = fields.Boolean()
    levels_passed = fields.Integer()
    level_count = fields.Integer()


class ChallengeSchema(ChallengeSummarySchema):
    description = fields.String()
    attempts_per_day = fields.Integer()
    attempts_left_today = fields.Integer()
    levels = fields.List(fields.Nested(LevelSchema))


class QuizListSchema(Schema):
    quizzes = fields.List(fields.Nested(QuizSummarySchema))
    challenges = fields.List(fields.Nested(ChallengeSummarySchema))


class BoardArgsSchema(Schema):
    board = fields.String(load_default="members", validate=validate.OneOf(["members", "branches"]))
    sort = fields.String(load_default="levels", validate=validate.OneOf(["levels", "participation", "score"]))
    page = Page()


class MemberRowSchema(Schema):
    rank = fields.Integer()
    name = fields.String()
    organisation = fields.String()
    levels_passed = fields.Integer()
    score = fields.Float()
    seconds = fields.Integer()


class BranchRowSchema(Schema):
    rank = fields.Integer()
    organisation_id = fields.Integer()
    name = fields.String()
    members = fields.Integer()
    players = fields.Integer()
    participation = fields.Float(metadata={"description": "share of active members who played"})
    average_score = fields.Float(metadata={"description": "total score per active member"})
    levels_per_member = fields.Float()


class MyRankSchema(Schema):
    rank = fields.Integer()
    levels_passed = fields.Integer()
    score = fields.Float()
    seconds = fields.Integer()


class BoardSchema(Schema):
    board = fields.String()
    page = fields.Integer()
    members = fields.List(fields.Nested(MemberRowSchema))
    branches = fields.List(fields.Nested(BranchRowSchema))
    me = fields.Nested(MyRankSchema, allow_none=True)
