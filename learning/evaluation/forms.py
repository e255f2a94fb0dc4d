"""The monthly report's form."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SubmitField, TextAreaField
from wtforms.validators import Length


class ReportForm(FlaskForm):
    account = TextAreaField(_l("The branch's account of the month"), validators=[Length(max=2000)],
                            description=_l("What the branch did, what went well, what it will do better; "
                                           "the figures below are added by the system."),
                            render_kw={"rows": 8, "maxlength": 2000})
    save_draft = SubmitField(_l("Save draft"))
    submit_report = SubmitField(_l("Submit the report"))
