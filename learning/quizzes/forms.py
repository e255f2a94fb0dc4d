"""Forms of the quiz administration: bank uploads and challenge campaigns."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateTimeLocalField, FieldList, Form, FormField, IntegerField, SelectField, SelectMultipleField, \
    StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError


class UploadForm(FlaskForm):
    file = FileField(_l("Question file"), validators=[FileRequired(_l("Choose a file."))],
                     description=_l("GIFT (.gift), Aiken (.txt) or our YAML (.yaml), UTF-8."))
    bank = SelectField(_l("Into bank"), coerce=int, description=_l("Questions with the same id are updated."))
    slug = StringField(_l("New bank's short name"), validators=[
        Optional(), Regexp(r"^[a-z0-9][a-z0-9-]{0,79}$", message=_l("Lower-case letters, digits and - only."))])
    title = StringField(_l("New bank's title"), validators=[Optional(), Length(max=200)])

    def validate_slug(self, field):
        if self.bank.data == 0 and not field.data:
            raise ValidationError(_l("Give the new bank a short name, or choose a bank."))

    def validate_title(self, field):
        if self.bank.data == 0 and not (field.data or "").strip():
            raise ValidationError(_l("Give the new bank a title."))


class LevelForm(Form):
    title = StringField(_l("Level title"), validators=[Optional(), Length(max=200)])
    question_count = IntegerField(_l("Questions"), default=5, validators=[
        InputRequired(_l("How many questions?")), NumberRange(min=1, max=50)])
    pass_percent = IntegerField(_l("Pass mark"), default=60, validators=[
        InputRequired(_l("Enter a pass mark.")), NumberRange(min=60, max=100)])
    seconds_per_question = IntegerField(_l("Seconds per question"), default=30, validators=[
        InputRequired(_l("Enter the time per question.")), NumberRange(min=5, max=600)])
    points = IntegerField(_l("Points"), default=3, description=_l(
        "The level's weight, 1 to 10; the points rule of the organisation above decides the points and their caps."),
        validators=[InputRequired(_l("Enter the points.")), NumberRange(min=1, max=10)])


class ChallengeForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Give the campaign a title.")), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])
    organisation = SelectField(_l("Organisation"), coerce=int, description=_l("Everyone below it may take part."))
    starts_at = DateTimeLocalField(_l("Starts"), format="%Y-%m-%dT%H:%M",
                                   validators=[InputRequired(_l("Enter when it starts."))])
    ends_at = DateTimeLocalField(_l("Ends"), format="%Y-%m-%dT%H:%M", validators=[InputRequired(_l("Enter when it ends."))])
    attempts_per_day = IntegerField(_l("Attempts per day"), default=3, validators=[
        InputRequired(_l("Enter the attempts per day.")), NumberRange(min=1, max=50)],
        description=_l("Per member and day, all levels together."))
    banks = SelectMultipleField(_l("Question banks"), coerce=int, validators=[
        DataRequired(_l("Choose at least one question bank."))])
    levels = FieldList(FormField(LevelForm), min_entries=1, max_entries=20)

    def validate_ends_at(self, field):
        if self.starts_at.data and field.data and field.data <= self.starts_at.data:
            raise ValidationError(_l("The campaign must end after it starts."))
