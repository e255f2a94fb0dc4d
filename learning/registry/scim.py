"""SCIM 2.0 service provider (RFC 7643/7644) at /scim/v2: the registry provisions members and
organisations.

The protocol (routing, discovery, PATCH, ETags, errors) is scim2-server's; this module only
describes our resources and stores them in our tables through the orgs services, so a member
provisioned over SCIM is the same row the rest of the platform ranks and awards.

- ``User`` is a member: ``userName``, ``displayName`` (the name), ``active``, ``externalId`` and
  our extension (organisation, status, join date).  ``Group`` is an organisation: ``displayName``,
  ``externalId`` and our extension (kind, parent).  Membership is the member's ``organization``,
  not ``Group.members``: a member belongs to exactly one organisation.
- DELETE never erases: a member is deactivated and deprovisioned (history and points are kept),
  an organisation is dissolved (refused while it has active members).
- Filters are translated to SQL, so a search over a city's 220,000 members is one indexed query.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import date, datetime, time, timezone
from typing import Annotated, Any, Iterator
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, request
from pydantic import Field
from scim2_models import (
    URN,
    AnyExtension,
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    ConflictException,
    ETag,
    Extension,
    External,
    Filter,
    InvalidFilterException,
    InvalidValueException,
    Meta,
    NotFoundException,
    Patch,
    PreconditionFailedException,
    Reference,
    Required,
    Resource,
    ResourceType,
    ScimProvider,
    SchemaExtension,
    SearchRequest,
    ServiceProviderConfig,
    Sort,
    UnauthorizedException,
    Uniqueness,
    UniquenessException,
)
from scim2_models.path.expressions import (
    AttrPath,
    Comparison,
    CompareOperator,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
)
from scim2_server.applications.wsgi import WSGIApplication
from scim2_server.conditions import opaque_tag
from scim2_server.requests import ScimRequest
from scim2_server.service import ScimService
from scim2_server.storage import ScimStorage, SearchPage
from sqlalchemy import String, and_, cast, false, func, literal, not_, or_, select, true, update
from sqlalchemy.exc import IntegrityError

from learning.db import utcnow
from learning.extensions import csrf, db, limiter
from learning.orgs import services as orgs
from learning.orgs.models import Member, MemberStatus, Organisation, OrgKind
from learning.web import bounded_int

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
MEMBER_EXTENSION = "urn:learning:params:scim:schemas:extension:2.0:Member"
ORGANISATION_EXTENSION = "urn:learning:params:scim:schemas:extension:2.0:Organisation"
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
MAX_RESULTS = 200


class ScimMember(Resource[AnyExtension]):
    """The part of the core User schema we keep; the Schemas endpoint publishes exactly this."""

    __schema__ = URN(USER_SCHEMA)

    user_name: Annotated[str | None, Uniqueness.server, Required.true] = Field(None, max_length=100)
    """The registry's login or member number for this member."""

    display_name: Annotated[str | None, Required.true] = Field(None, max_length=100)
    """The member's name as shown in rankings."""

    active: Annotated[bool | None, Required.true] = None
    """False for a member who left; points and history are kept.  Required: a member is always
    either active or not, so it cannot be removed by PATCH."""


class MemberExtension(Extension):
    __schema__ = URN(MEMBER_EXTENSION)

    organization: Annotated[Reference["Group"] | None, Required.true] = None
    """The Group (organisation) that holds the member, such as ``Groups/12``."""

    status: Annotated[str | None, Required.true] = Field(None, examples=[s.value for s in MemberStatus])
    """full, probationary, activist or candidate."""

    join_date: datetime | None = None
    """When the member joined the Party; kept as a date in Asia/Shanghai."""


class ScimOrganisation(Resource[AnyExtension]):
    __schema__ = URN(GROUP_SCHEMA)

    display_name: Annotated[str | None, Required.true] = Field(None, max_length=200)


class OrganisationExtension(Extension):
    __schema__ = URN(ORGANISATION_EXTENSION)

    kind: Annotated[str | None, Required.true] = Field(None, examples=[k.value for k in OrgKind])
    """committee, general_branch, branch or group."""

    parent: Reference["Group"] | None = None
    """The Group above this one; none for a top-level committee."""


BEARER = AuthenticationScheme(
    type=AuthenticationScheme.Type.oauthbearertoken,
    name="Registry connection token",
    description="The token an administrator issued for the registry connection (reg_…)",
    spec_uri=Reference[External]("https://datatracker.ietf.org/doc/html/rfc6750"),
    primary=True,
)


def build_provider() -> ScimProvider:
    resource_types = [
        ResourceType(
            id="User", name="User", endpoint="/Users", description="Party members",
            schema_=USER_SCHEMA, schema_extensions=[SchemaExtension(schema_=MEMBER_EXTENSION, required=True)],
        ),
        ResourceType(
            id="Group", name="Group", endpoint="/Groups", description="Party organisations",
            schema_=GROUP_SCHEMA, schema_extensions=[SchemaExtension(schema_=ORGANISATION_EXTENSION, required=True)],
        ),
    ]
    config = ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=True),
        etag=ETag(supported=True),
        authentication_schemes=[BEARER],
    )
    return ScimProvider(
        models=[ScimMember, MemberExtension, ScimOrganisation, OrganisationExtension],
        resource_types=resource_types, config=config,
    )


# ---------------------------------------------------------------------------------------------
# Mapping between rows and resources
# ---------------------------------------------------------------------------------------------

def _version(row) -> str:
    stamp = row.updated_at or row.created_at
    return f'W/"{int(stamp.timestamp() * 1_000_000)}"'


def _meta(row, resource_type: str) -> Meta:
    return Meta(resource_type=resource_type, created=row.created_at, last_modified=row.updated_at or row.created_at,
                version=_version(row))


def _user_name_of(member: Member) -> str:
    """Members created by events or roster imports have no userName; their member number stands in."""
    return member.user_name or member.external_id or f"member-{member.id}"


def _user_name_column():
    return func.coalesce(Member.user_name, Member.external_id, literal("member-") + cast(Member.id, String))


def _join_datetime(day: date | None) -> datetime | None:
    return datetime.combine(day, time(0), LOCAL_TZ) if day else None


def join_day(value: datetime | None) -> date | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(LOCAL_TZ).date()


def _reference_id(value: Any, what: str) -> int:
    """``Groups/12``, ``https://host/scim/v2/Groups/12`` or ``12`` → 12."""
    text = str(value or "").strip().rstrip("/")
    head, _, last = text.rpartition("/")
    org_id = bounded_int(last)
    if org_id is None or (head and not head.endswith("Groups")):
        raise InvalidValueException(detail=f"{what} must reference a Group, such as Groups/12; got {text!r}")
    return org_id


def _active_org(org_id: int, what: str) -> Organisation:
    org = db.session.get(Organisation, org_id)
    if org is None or not org.active:
        raise InvalidValueException(detail=f"{what}: Group {org_id} does not exist")
    return org


# ---------------------------------------------------------------------------------------------
# Filters and sorting → SQL
# ---------------------------------------------------------------------------------------------

# How an attribute compares: "ci" case-insensitive string, "cs" case-exact string, "id", "ref"
# (a Group reference), "bool", "datetime", "date", "enum".
USER_ATTRIBUTES = {
    (None, "id", None): (Member.id, "id"),
    (None, "username", None): (_user_name_column(), "ci"),
    (None, "displayname", None): (Member.name, "ci"),
    (None, "externalid", None): (Member.external_id, "cs"),
    (None, "active", None): (Member.active, "bool"),
    (None, "meta", "created"): (Member.created_at, "datetime"),
    (None, "meta", "lastmodified"): (Member.updated_at, "datetime"),
    (MEMBER_EXTENSION.lower(), "organization", None): (Member.organisation_id, "ref"),
    (MEMBER_EXTENSION.lower(), "status", None): (Member.status, "enum"),
    (MEMBER_EXTENSION.lower(), "joindate", None): (Member.joined_on, "date"),
}
GROUP_ATTRIBUTES = {
    (None, "id", None): (Organisation.id, "id"),
    (None, "displayname", None): (Organisation.name, "ci"),
    (None, "externalid", None): (Organisation.external_id, "cs"),
    (None, "meta", "created"): (Organisation.created_at, "datetime"),
    (None, "meta", "lastmodified"): (Organisation.updated_at, "datetime"),
    (ORGANISATION_EXTENSION.lower(), "kind", None): (Organisation.kind, "enum"),
    (ORGANISATION_EXTENSION.lower(), "parent", None): (Organisation.parent_id, "ref"),
}
CORE_SCHEMAS = {USER_SCHEMA.lower(), GROUP_SCHEMA.lower()}


def _lookup(attributes: dict, uri: str | None, attr: str, sub_attr: str | None):
    """Attribute names and schema URNs compare case-insensitively (RFC 7643 §2.1); the maps'
    keys are lower case, so this is one dict lookup."""
    uri = uri.lower() if uri else None
    if uri in CORE_SCHEMAS:
        uri = None
    return attributes.get((uri, attr.lower(), sub_attr.lower() if sub_attr else None))


def _attribute(attributes: dict, path: AttrPath):
    found = _lookup(attributes, path.uri, path.attr, path.sub_attr)
    if found is None:
        raise InvalidFilterException(detail=f"filtering on {path} is not supported")
    return found


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _comparison(attributes: dict, node: Comparison):
    column, kind = _attribute(attributes, node.attr_path)
    op, value = node.op, node.value
    if value is None:
        return column.is_(None) if op == CompareOperator.eq else column.isnot(None)
    if kind in ("ci", "cs", "enum"):
        if not isinstance(value, str):
            raise InvalidFilterException(detail=f"{node.attr_path} compares with a string")
        if kind != "cs":
            column, value = func.lower(column), value.lower()
        if op == CompareOperator.co:
            return column.like(f"%{_like_escape(value)}%", escape="\\")
        if op == CompareOperator.sw:
            return column.like(f"{_like_escape(value)}%", escape="\\")
        if op == CompareOperator.ew:
            return column.like(f"%{_like_escape(value)}", escape="\\")
    elif kind in ("id", "ref"):
        try:
            value = _reference_id(value, str(node.attr_path)) if kind == "ref" else int(str(value))
        except (InvalidValueException, ValueError):
            return false() if op != CompareOperator.ne else true()
    elif kind == "bool":
        if not isinstance(value, bool) or op not in (CompareOperator.eq, CompareOperator.ne):
            raise InvalidFilterException(detail=f"{node.attr_path} compares with true or false, by eq or ne")
    elif kind in ("datetime", "date"):
        try:
            moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise InvalidFilterException(detail=f"{node.attr_path} compares with a dateTime") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        value = join_day(moment) if kind == "date" else moment
    if op in (CompareOperator.co, CompareOperator.sw, CompareOperator.ew):
        raise InvalidFilterException(detail=f"{op} applies to strings")
    return {
        CompareOperator.eq: lambda: column == value,
        CompareOperator.ne: lambda: or_(column != value, column.is_(None)),
        CompareOperator.gt: lambda: column > value,
        CompareOperator.ge: lambda: column >= value,
        CompareOperator.lt: lambda: column < value,
        CompareOperator.le: lambda: column <= value,
    }[op]()


def filter_clause(attributes: dict, node):
    """A SCIM filter AST as a SQL condition; what SQL cannot say is refused, never post-filtered
    (that would make totalResults and paging wrong)."""
    if isinstance(node, LogicalExpr):
        parts = [filter_clause(attributes, term) for term in node.terms]
        return and_(*parts) if node.op == LogicalOperator.and_ else or_(*parts)
    if isinstance(node, Not):
        return not_(filter_clause(attributes, node.expr))
    if isinstance(node, Present):
        column, kind = _attribute(attributes, node.attr_path)
        present = column.isnot(None)
        return and_(present, column != "") if kind in ("ci", "cs") else present
    if isinstance(node, Comparison):
        return _comparison(attributes, node)
    raise InvalidFilterException(detail="complex attribute filters are not supported")


# ---------------------------------------------------------------------------------------------
# Storage
# ---------------------------------------------------------------------------------------------

class DatabaseStorage(ScimStorage):
    """Reads and writes members and organisations through the orgs services.

    Each operation runs in a savepoint; the view commits the request once the response is a
    success, so a failed operation leaves nothing behind.
    """

    def __init__(self, provider: ScimProvider):
        self.provider = provider

    # -- helpers ---------------------------------------------------------------------------
    def _model(self, name: str):
        return self.provider.model_for(name)

    def _member_resource(self, member: Member) -> Resource:
        model = self._model("User")
        resource = model(
            id=str(member.id), external_id=member.external_id, user_name=_user_name_of(member),
            display_name=member.name, active=member.active, meta=_meta(member, "User"),
        )
        resource[MemberExtension] = MemberExtension(
            organization=f"Groups/{member.organisation_id}", status=member.status.value,
            join_date=_join_datetime(member.joined_on),
        )
        return resource

    def _org_resource(self, org: Organisation) -> Resource:
        model = self._model("Group")
        resource = model(id=str(org.id), external_id=org.external_id, display_name=org.name, meta=_meta(org, "Group"))
        resource[OrganisationExtension] = OrganisationExtension(
            kind=org.kind.value, parent=f"Groups/{org.parent_id}" if org.parent_id else None,
        )
        return resource

    def _member(self, resource_id: Any) -> Member:
        member_id = bounded_int(str(resource_id))
        member = db.session.get(Member, member_id) if member_id is not None else None
        if member is None or member.deprovisioned_at is not None:
            raise NotFoundException(detail=f"User {resource_id} not found")
        return member

    def _org(self, resource_id: Any) -> Organisation:
        org_id = bounded_int(str(resource_id))
        org = db.session.get(Organisation, org_id) if org_id is not None else None
        if org is None or not org.active:
            raise NotFoundException(detail=f"Group {resource_id} not found")
        return org

    @staticmethod
    def _check_version(row, expected_version: str | None) -> None:
        if expected_version is not None and opaque_tag(expected_version) != opaque_tag(_version(row)):
            raise PreconditionFailedException

    @staticmethod
    def _flush() -> None:
        try:
            db.session.flush()
        except IntegrityError:
            raise UniquenessException(detail="userName or externalId is taken") from None

    # -- ScimStorage -----------------------------------------------------------------------
    @contextmanager
    def operation(self) -> Iterator[None]:
        with db.session.begin_nested():
            yield

    def get(self, resource_type, resource_id, *, response_parameters=None):
        if resource_type.name == "User":
            return self._member_resource(self._member(resource_id))
        return self._org_resource(self._org(resource_id))

    def _query(self, resource_type, search_request: SearchRequest, *, at_root: bool):
        """The WHERE clause and ORDER BY of one resource type's search.

        At the root, an attribute a type does not declare matches none of its resources
        (RFC 7644 §3.4.2.1); on its own endpoint it is an error the client should see.
        """
        is_user = resource_type.name == "User"
        model, attributes = (Member, USER_ATTRIBUTES) if is_user else (Organisation, GROUP_ATTRIBUTES)
        where = [Member.deprovisioned_at.is_(None)] if is_user else [Organisation.active.is_(True)]
        if search_request.filter is not None:
            try:
                where.append(filter_clause(attributes, search_request.filter.ast))
            except InvalidFilterException:
                if not at_root:
                    raise
                where.append(false())
        order = []
        if search_request.sort_by is not None:
            path = search_request.sort_by
            head, _, sub = ".".join(path.parts).partition(".")
            found = _lookup(attributes, path.schema, head, sub or None)
            if found is None and not at_root:
                raise InvalidFilterException(detail=f"sorting by {path} is not supported")
            if found is not None:
                descending = search_request.sort_order == SearchRequest.SortOrder.descending
                order.append(found[0].desc() if descending else found[0].asc())
        return model, where, [*order, model.id]

    def search(self, resource_types, search_request: SearchRequest, *, position=None) -> SearchPage:
        """One query per resource type; at the root the types follow one another (Users, then
        Groups), each sorted as asked, and the page spans them."""
        at_root = len(resource_types) > 1
        offset = search_request.start_index_0 or 0
        remaining = search_request.count
        total, resources = 0, []
        for resource_type in sorted(resource_types, key=lambda rt: rt.name != "User"):
            model, where, order = self._query(resource_type, search_request, at_root=at_root)
            count = db.session.scalar(select(func.count()).select_from(model).where(*where))
            total += count
            if offset >= count:
                offset -= count
                continue
            if remaining is not None and remaining <= 0:
                continue
            query = select(model).where(*where).order_by(*order).offset(offset)
            if remaining is not None:
                query = query.limit(remaining)
            rows = db.session.scalars(query).all()
            offset = 0
            if remaining is not None:
                remaining -= len(rows)
            convert = self._member_resource if model is Member else self._org_resource
            resources.extend(convert(row) for row in rows)
        return SearchPage(total, resources)

    def create(self, resource_type, resource):
        if resource_type.name == "User":
            return self._member_resource(self._save_member(None, resource))
        return self._org_resource(self._save_org(None, resource))

    def update(self, resource_type, resource, *, expected_version=None):
        if resource_type.name == "User":
            member = self._member(resource.id)
            self._check_version(member, expected_version)
            return self._member_resource(self._save_member(member, resource))
        org = self._org(resource.id)
        self._check_version(org, expected_version)
        return self._org_resource(self._save_org(org, resource))

    def delete(self, resource_type, resource_id, *, expected_version=None):
        if resource_type.name == "User":
            member = self._member(resource_id)
            self._check_version(member, expected_version)
            orgs.deactivate_member(member)
            member.deprovisioned_at = utcnow()
            db.session.flush()
            return
        org = self._org(resource_id)
        self._check_version(org, expected_version)
        try:
            orgs.dissolve_organisation(org)
        except orgs.OrgError as exc:
            raise ConflictException(detail=str(exc)) from None

    # -- writes ----------------------------------------------------------------------------
    def _save_member(self, member: Member | None, resource) -> Member:
        extension = resource[MemberExtension] or MemberExtension()
        user_name = (resource.user_name or "").strip()
        name = (resource.display_name or "").strip()
        if not user_name or not name:
            raise InvalidValueException(detail="userName and displayName are required")
        try:
            status = MemberStatus((extension.status or MemberStatus.FULL.value).lower())
        except ValueError:
            allowed = ", ".join(s.value for s in MemberStatus)
            raise InvalidValueException(detail=f"status must be one of {allowed}") from None
        if extension.organization is None:
            raise InvalidValueException(detail=f"{MEMBER_EXTENSION}:organization is required")
        organisation = _active_org(_reference_id(extension.organization, "organization"), "organization")
        if member is None and resource.external_id:
            # A registry that deleted a member and provisions them again gets the same member
            # back, with their history and points.
            member = db.session.scalar(select(Member).where(Member.external_id == resource.external_id))
            if member is not None and member.deprovisioned_at is None:
                raise UniquenessException(detail=f"externalId {resource.external_id!r} is taken")
        own_id = member.id if member is not None else -1
        taken = db.session.scalar(
            select(Member.id).where(func.lower(_user_name_column()) == user_name.lower(), Member.id != own_id,
                                    Member.deprovisioned_at.is_(None))
        )
        if taken:
            raise UniquenessException(detail=f"userName {user_name!r} is taken")
        # A deprovisioned member's userName is free again.
        db.session.execute(
            update(Member).where(func.lower(Member.user_name) == user_name.lower(), Member.id != own_id,
                                 Member.deprovisioned_at.isnot(None))
            .values(user_name=None).execution_options(synchronize_session=False)
        )
        if member is None:
            member = orgs.create_member(name, organisation, status, external_id=resource.external_id)
        else:
            member.deprovisioned_at = None
            if member.organisation_id != organisation.id:
                try:
                    orgs.transfer_member(member, organisation, check_rules=False)
                except orgs.OrgError as exc:
                    raise InvalidValueException(detail=str(exc)) from None
            orgs.update_member(member, name=name, status=status)
            member.external_id = resource.external_id
        member.user_name = user_name
        member.joined_on = join_day(extension.join_date)
        if resource.active is False and member.active:
            orgs.deactivate_member(member)
        elif resource.active is not False:
            member.active = True
        self._flush()
        return member

    def _save_org(self, org: Organisation | None, resource) -> Organisation:
        extension = resource[OrganisationExtension] or OrganisationExtension()
        name = (resource.display_name or "").strip()
        if not name:
            raise InvalidValueException(detail="displayName is required")
        try:
            kind = OrgKind((extension.kind or "").lower())
        except ValueError:
            allowed = ", ".join(k.value for k in OrgKind)
            raise InvalidValueException(detail=f"kind must be one of {allowed}") from None
        parent = _active_org(_reference_id(extension.parent, "parent"), "parent") if extension.parent else None
        try:
            if org is None:
                if resource.external_id and orgs.org_by_external_id(resource.external_id):
                    raise UniquenessException(detail=f"externalId {resource.external_id!r} is taken")
                org = orgs.create_organisation(name, kind, parent, external_id=resource.external_id, check_rules=False)
            else:
                orgs.update_organisation(org, name=name, parent=parent, move=True, kind=kind, check_rules=False)
                org.external_id = resource.external_id
        except orgs.OrgError as exc:
            raise InvalidValueException(detail=str(exc)) from None
        self._flush()
        return org


# ---------------------------------------------------------------------------------------------
# The application and its Flask endpoint
# ---------------------------------------------------------------------------------------------

class RegistryScimApplication(WSGIApplication):
    """scim2-server's application, authenticated by registry connection tokens."""

    def check_auth(self, request: ScimRequest) -> None:
        from learning.registry.services import connection_for_token

        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        connection = connection_for_token(token.strip()) if scheme.lower() == "bearer" else None
        if connection is None:
            raise UnauthorizedException(detail="a valid registry connection token is required")
        request.subject = connection

    def get_subject(self, request: ScimRequest) -> Any:
        return request.subject


def scim_application(app=None) -> RegistryScimApplication:
    app = app or current_app._get_current_object()
    if "learning.scim" not in app.extensions:
        provider = build_provider()
        service = ScimService(provider, secret=app.config["SECRET_KEY"])
        app.extensions["learning.scim"] = RegistryScimApplication(DatabaseStorage(provider), provider, service)
    return app.extensions["learning.scim"]


bp = Blueprint("scim", __name__, url_prefix="/scim/v2")
csrf.exempt(bp)
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@bp.route("", defaults={"path": ""}, methods=METHODS, strict_slashes=False)
@bp.route("/<path:path>", methods=METHODS)
@limiter.limit("1200 per minute")
def endpoint(path: str):
    """One Flask view hands every SCIM request to scim2-server and commits what succeeded."""
    application = scim_application()
    scim_request = ScimRequest(
        method=request.method,
        base_url=request.url_root.rstrip("/") + bp.url_prefix,
        path="/" + path,
        query=request.args.to_dict(),
        headers=list(request.headers.items()),
        body=request.get_data(cache=False),
    )
    response = application.serve(scim_request)
    if int(response.status) < 400:
        db.session.commit()
    else:
        db.session.rollback()
    body = b"" if response.body is None else json.dumps(response.body, ensure_ascii=False).encode()
    return Response(body, status=int(response.status), headers=response.headers)
