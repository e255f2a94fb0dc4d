"""Forms of the course editor."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp


class CourseForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Give the course a title.")), Length(max=200)])
    summary = TextAreaField(_l("Summary"), validators=[Optional(), Length(max=2000)])
    category = StringField(_l("Category"), validators=[Optional(), Length(max=50)])
    tags = StringField(_l("Tags"), validators=[Optional(), Length(max=200)], description=_l("Separated by commas."))
    credit_hours = DecimalField(_l("Credit hours"), places=2, validators=[
        InputRequired(_l("Enter the credit hours.")), NumberRange(min=0.25, max=100)])
    credit_kind = SelectField(_l("Credit"), choices=[SelectChoice("required", _l("Required")), SelectChoice("elective", _l("Elective"))])
    published = BooleanField(_l("Published (members can see it)"))


class LessonForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Give the lesson a title.")), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=[SelectChoice("text", _l("Text")), SelectChoice("audio", _l("Audio")), SelectChoice("video", _l("Video"))])
    body = TextAreaField(_l("Text (Markdown)"), validators=[Optional(), Length(max=100_000)],
                         render_kw={"rows": 16})
    media = FileField(_l("Media file"), description=_l("MP3, M4A, WAV, OGG, MP4 or WebM, within the upload limit of the server."))
    media_url = StringField(_l("Or a media address"), validators=[
        Optional(), Length(max=300), Regexp(r"^https?://", message=_l("An address starts with http:// or https://."))])
    media_seconds = IntegerField(_l("Media length in seconds"), validators=[Optional(), NumberRange(min=1, max=21600)],
                                 description=_l("Measured for WAV files; needed for the others."))
    min_minutes = DecimalField(_l("Minimum study time in minutes"), places=1,
                               validators=[Optional(), NumberRange(min=0.1, max=600)],
                               description=_l("Empty: nine tenths of the media, or the reading time of the text."))


class AssignmentForm(FlaskForm):
    organisation = SelectField(_l("Organisation"), coerce=int)
    period = StringField(_l("Period"), validators=[DataRequired(), Regexp(r"^\d{4}(Q[1-4])?$", message=_l(
        "A quarter such as 2026Q4 or a year such as 2026."))])


class QuotaForm(FlaskForm):
    period_kind = SelectField(_l("Per"), choices=[SelectChoice("quarter", _l("quarter")), SelectChoice("year", _l("year"))])
    required_hours = DecimalField(_l("Required hours"), places=2, validators=[
        InputRequired(_l("Enter the required hours.")), NumberRange(min=0, max=500)])
    elective_hours = DecimalField(_l("Elective hours"), places=2, validators=[
        InputRequired(_l("Enter the elective hours.")), NumberRange(min=0, max=500)])
