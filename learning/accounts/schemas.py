"""marshmallow schemas of the accounts API: they validate requests and write the OpenAPI document."""
from marshmallow import Schema, fields, validate
from learning.api.fields import Text


class TokenRequestSchema(Schema):
    username = Text(required=True, validate_with=[validate.Length(min=1, max=64)])
    password = Text(required=True, validate_with=[validate.Length(min=1, max=256)], load_only=True)
    device_name = Text(load_default="mobile", validate_with=[validate.Length(max=100)])


class TokenSchema(Schema):
    token = fields.String(required=True, metadata={"description": "Shown once; send as `Authorization: Bearer <token>`."})
    token_type = fields.String(dump_default="Bearer")
    expires_at = fields.DateTime(required=True)
    scope = fields.String(metadata={"description": "`full`, or `password_change` while a temporary password is in force"})
    must_change_password = fields.Boolean()


class PasswordChangeSchema(Schema):
    current_password = Text(required=True, load_only=True, validate_with=[validate.Length(min=1, max=256)])
    new_password = Text(required=True, load_only=True, validate_with=[validate.Length(min=1, max=256)])


class RoleGrantSchema(Schema):
    role = fields.Function(lambda g: g.role.value)
    organisation_id = fields.Integer(allow_none=True)
    organisation_name = fields.Function(lambda g: g.organisation.name if g.organisation else None)


class MeSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    name = fields.String()
    locale = fields.String(allow_none=True)
    member_id = fields.Integer(allow_none=True)
    organisation_id = fields.Function(lambda a: a.member.organisation_id if a.member else None)
    organisation_name = fields.Function(lambda a: a.member.organisation.name if a.member else None)
    must_change_password = fields.Boolean()
    roles = fields.List(fields.Nested(RoleGrantSchema), attribute="grants")
