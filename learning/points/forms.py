"""Forms of the points pages."""
import uuid

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional


class DisputeForm(FlaskForm):
    reason = TextAreaField(
        _l("What is wrong with this entry?"),
        validators=[DataRequired(_l("Explain in a few words what is wrong.")), Length(min=5, max=2000)],
    )


class ManualEntryForm(FlaskForm):
    direction = RadioField(
        _l("Kind"), choices=[SelectChoice("bonus", _l("Bonus")), SelectChoice("deduction", _l("Deduction"))], default="bonus",
        validators=[InputRequired()],
    )
    points = IntegerField(
        _l("Points"), validators=[InputRequired(_l("Enter a number of points.")), NumberRange(min=1, max=100)]
    )
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(_l("Give a reason.")), Length(max=1000)],
                           description=_l("The member sees this reason next to the entry."))
    # One id per rendered form: a double-clicked submit records one entry.
    request_id = HiddenField(default=lambda: uuid.uuid4().hex)


class ResolveDisputeForm(FlaskForm):
    decision = RadioField(
        _l("Decision"),
        choices=[SelectChoice("accept", _l("Accept: cancel the entry")), SelectChoice("reject", _l("Reject: keep the entry"))],
        validators=[InputRequired(_l("Choose a decision."))],
    )
    resolution = TextAreaField(_l("Reason"), validators=[DataRequired(_l("Give a reason.")), Length(max=1000)])


class ManualDecisionForm(FlaskForm):
    decision = RadioField(
        _l("Decision"),
        choices=[SelectChoice("approve", _l("Approve: the points count")), SelectChoice("refuse", _l("Refuse: the points do not count"))],
        validators=[InputRequired(_l("Choose a decision."))],
    )
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=1000)],
                         description=_l("Required when you refuse; the giver sees it."))


class RuleSettingForm(FlaskForm):
    organisation = SelectField(_l("Applies to"), coerce=int)
    points = IntegerField(_l("Points"), validators=[InputRequired(_l("Enter a number of points.")), NumberRange(min=0, max=1000)])
    daily_cap = IntegerField(_l("Daily cap"), validators=[Optional(), NumberRange(min=0, max=10000)],
                             description=_l("Most points a day; empty for no cap."))
    period_cap = IntegerField(_l("Period cap"), validators=[Optional(), NumberRange(min=0, max=100000)])
    cap_period = SelectField(_l("Cap period"), choices=[SelectChoice("month", _l("Month")), SelectChoice("quarter", _l("Quarter")), SelectChoice("year", _l("Year"))])
    review_above = IntegerField(_l("Approval above"), validators=[Optional(), NumberRange(min=0, max=100)],
                                description=_l("An entry of more points waits for a second administrator; empty for no limit."))
    review_total = IntegerField(_l("Approval past a total of"), validators=[Optional(), NumberRange(min=0, max=10000)],
                                description=_l("So does one that takes a member's manual points of the period past this total."))
    starts_on = DateField(_l("From"), validators=[Optional()])
    ends_on = DateField(_l("Until"), validators=[Optional()], description=_l("For a season, such as a campaign month."))
    active = BooleanField(_l("Active"), default=True)
    note = StringField(_l("Note"), validators=[Optional(), Length(max=200)])
