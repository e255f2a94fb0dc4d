"""The monthly report's form."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, IntegerField, SelectField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange


class ReportForm(FlaskForm):
    account = TextAreaField(_l("The branch's account of the month"), validators=[Length(max=2000)],
                            description=_l("What the branch did, what went well, what it will do better; "
                                           "the figures below are added by the system."),
                            render_kw={"rows": 8, "maxlength": 2000})
    save_draft = SubmitField(_l("Save draft"))
    submit_report = SubmitField(_l("Submit the report"))


class BallotForm(FlaskForm):
    """The member's ballot: the self-assessment here; the grades are one radio group per member (grade-<id>)."""
    self_assessment = TextAreaField(_l("My self-assessment"), validators=[Length(max=2000)],
                                    description=_l("How you studied, worked and served this year, and what you will do better."),
                                    render_kw={"rows": 6, "maxlength": 2000})


class WindowForm(FlaskForm):
    organisation = SelectField(_l("Organisation"), coerce=int)
    year = IntegerField(_l("Year"), validators=[InputRequired(_l("Enter the year.")), NumberRange(min=2000, max=2099)])
    opens_at = DateTimeLocalField(_l("Opens"), format="%Y-%m-%dT%H:%M", validators=[InputRequired(_l("Enter when it opens."))])
    closes_at = DateTimeLocalField(_l("Closes"), format="%Y-%m-%dT%H:%M", validators=[InputRequired(_l("Enter when it closes."))])
