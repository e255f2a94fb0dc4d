"""marshmallow schemas of the organisations API."""
from marshmallow import Schema, fields, validate
from learning.api.fields import Id, Page, PerPage, Text

from learning.orgs.models import MemberStatus


class OrganisationSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.Function(lambda o: o.kind.value)
    parent_id = fields.Integer(allow_none=True)
    external_id = fields.String(allow_none=True)
    joint = fields.Boolean()
    active = fields.Boolean()
    depth = fields.Integer()


class OrganisationRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.Function(lambda o: o.kind.value)


class MemberSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    external_id = fields.String(allow_none=True)
    status = fields.Function(lambda m: m.status.value)
    joined_on = fields.Date(allow_none=True)
    active = fields.Boolean()
    organisation = fields.Nested(OrganisationRefSchema)


class PageArgsSchema(Schema):
    page = Page()
    per_page = PerPage()


class OrgListArgsSchema(PageArgsSchema):
    parent = Id(metadata={"description": "List the children of this organisation; default: the top of your scope."})


class MemberListArgsSchema(PageArgsSchema):
    org = Id(metadata={"description": "Only members in this organisation's subtree."})
    q = Text(validate_with=[validate.Length(max=100)], metadata={"description": "Part of a name, or an exact registry id."})
    status = fields.String(validate=validate.OneOf([s.value for s in MemberStatus]))
    include_inactive = fields.Boolean(load_default=False)


def page_schema(item_schema, name):
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema)),
            "page": fields.Integer(),
            "per_page": fields.Integer(),
            "total": fields.Integer(),
            "pages": fields.Integer(),
        },
        name=name,
    )


OrganisationPageSchema = page_schema(OrganisationSchema, "OrganisationPage")
MemberPageSchema = page_schema(MemberSchema, "MemberPage")
