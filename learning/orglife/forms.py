"""Forms of organisational life."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, DecimalField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from learning.orglife.names import KINDS, NOTICE_KINDS


def plausible_time(form, field) -> None:
    """A time in this century (year 1 cannot even be converted to UTC)."""
    from wtforms.validators import ValidationError

    if field.data is not None and not 2000 <= field.data.year <= 2099:
        raise ValidationError(_l("Choose a time between the years 2000 and 2099."))


class ActivityForm(FlaskForm):
    organisation = SelectField(_l("Organisation"), coerce=int)
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k.value, v) for k, v in KINDS.items()])
    title = StringField(_l("Title"), validators=[DataRequired(_l("Give the activity a title.")), Length(max=200)])
    starts_at = DateTimeLocalField(_l("Starts"), format="%Y-%m-%dT%H:%M",
                                   validators=[InputRequired(_l("Enter when it starts.")), plausible_time])
    ends_at = DateTimeLocalField(_l("Ends"), format="%Y-%m-%dT%H:%M", validators=[InputRequired(_l("Enter when it ends.")), plausible_time])
    place = StringField(_l("Place"), validators=[Optional(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    groups = SelectMultipleField(_l("Only these groups"), coerce=int, validators=[Optional()],
                                 description=_l("Leave empty to expect every member of the organisation."))
    publish_notice = BooleanField(_l("Publish a meeting notice to the expected members"), default=True)


class LeaveForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(_l("Give a reason.")), Length(max=200)])


class CodeForm(FlaskForm):
    code = StringField(_l("Check-in code"), validators=[
        DataRequired(_l("Type the 6 digits on the screen.")),
        Regexp(r"^\s*\d{6}\s*$", message=_l("The code is 6 digits."))],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 6, "pattern": "[0-9]*"})


class MarkForm(FlaskForm):
    member = SelectField(_l("Member"), coerce=int)
    reason = StringField(_l("Reason"), validators=[DataRequired(_l("Give a reason.")), Length(max=200)],
                         description=_l("For example: no phone with them; the reader was out of order."))
    hours = DecimalField(_l("Hours of service"), places=2, validators=[Optional(), NumberRange(min=0, max=24)],
                         description=_l("Volunteer service only; empty: the length of the activity."))


class NoticeForm(FlaskForm):
    organisation = SelectField(_l("Organisation"), coerce=int)
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k.value, v) for k, v in NOTICE_KINDS.items()])
    title = StringField(_l("Title"), validators=[DataRequired(_l("Give the notice a title.")), Length(max=200)])
    body = TextAreaField(_l("Text"), validators=[DataRequired(_l("Write the notice.")), Length(max=20000)],
                         render_kw={"rows": 10})
    groups = SelectMultipleField(_l("Only these groups"), coerce=int, validators=[Optional()],
                                 description=_l("Leave empty to send it to every member of the organisation."))


class DeviceForm(FlaskForm):
    organisation = SelectField(_l("Organisation"), coerce=int)
    name = StringField(_l("Name"), validators=[DataRequired(_l("Give the reader a name.")), Length(max=100)],
                       description=_l("Where it stands, for example: 一楼党员活动室."))


class CardsForm(FlaskForm):
    cards = TextAreaField(_l("Cards"), validators=[DataRequired(_l("Paste the cards.")), Length(max=500_000)],
                          description=_l("One line per card: card number, member number (or login name)."),
                          render_kw={"rows": 8})


def audience_choices(form, orgs) -> None:
    """The organisation (indented by depth) and group choices of the activity and notice forms."""
    from learning.orgs.models import OrgKind

    top = orgs[0].depth if orgs else 0
    form.organisation.choices = [SelectChoice(o.id, "\u3000" * max(o.depth - top, 0) + o.name) for o in orgs]
    form.groups.choices = [SelectChoice(g.id, g.name) for g in orgs if g.kind == OrgKind.GROUP]


def show_refusal(form, refusal) -> None:
    """A refused operation's message beside the field it blames, or as a flash message."""
    from flask import flash

    field = getattr(form, refusal.field or "", None)
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, str(refusal.message)]
    else:
        flash(str(refusal.message), "error")
