"""The reputation forms of the console, pure: what a search box holds, the tag inputs an
entry form shows for each category, and a submitted form read back into an `EntryInput`
or a new category, with a plain-words error for each field that is wrong.

The rules themselves are the model's (`garrison.reputation.model`); this module only
places their messages next to the field they are about, without the "tag 'X':" prefix
the API needs and a form does not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from garrison.errors import Invalid
from garrison.reputation.model import (
    LIST_SEPARATOR,
    TTL_CATEGORY,
    EntryKind,
    TagCategory,
    TagKind,
    check_category,
    check_tag,
    is_empty,
    kind_of,
    parse_entry,
)
from garrison.web.pages.page_flow import Errors, utc_moment

KIND_CHOICES = (
    ("", "Detect from the value"),
    ("ipv4", "IPv4 address or block"),
    ("ipv6", "IPv6 address or block"),
    ("dns", "DNS name"),
    ("url", "URL"),
)
CATEGORY_KINDS = (
    ("text", "Text"),
    ("range", "Number range"),
    ("list", "List of values"),
    ("yesno", "Yes / no"),
)
_PREFIX = re.compile(r"^(tag|tag category) '[^']*': ")


def plain(error: Exception) -> str:
    """An error message as a sentence beside its field."""
    text = _PREFIX.sub("", str(error)).strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else "This is not valid."


# -- searching -------------------------------------------------------------------------------


def search_kind(query: str) -> str:
    """What one search box value asks for: ``ip`` (entries containing an address or
    block), ``url`` (that URL) or ``dns`` (entries matching a name)."""
    text = query.strip()
    if "://" in text:
        return "url"
    kind = kind_of(text.strip("[]"))
    if kind in (EntryKind.IPV4, EntryKind.IPV6):
        return "ip"
    return "url" if kind is EntryKind.URL else "dns"


# -- entry forms -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TagField:
    """One category's input on an entry form: ``name`` is the form field, ``id`` the
    element id (category names hold spaces, which ids may not)."""

    category: TagCategory
    index: int
    value: str = ""
    chosen: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"tag:{self.category.name}"

    @property
    def id(self) -> str:
        return f"f-tag-{self.index}"


def editable(categories: Sequence[TagCategory]) -> list[TagCategory]:
    """The categories a person sets on an entry form: not read-only, and not the TTL
    (the form's expiry field writes it)."""
    return [c for c in categories if not c.read_only and c.name != TTL_CATEGORY]


def tag_fields(categories: Sequence[TagCategory], values: Mapping[str, str]) -> list[TagField]:
    """The inputs for ``categories``, filled with ``values`` (category -> stored text)."""
    fields = []
    for index, category in enumerate(editable(categories), start=1):
        value = values.get(category.name, "")
        chosen = tuple(v for v in value.split(LIST_SEPARATOR) if v) if value else ()
        fields.append(TagField(category=category, index=index, value=value, chosen=chosen))
    return fields


@dataclass
class EntryForm:
    """A submitted entry form: what was typed (to show again) and what is wrong."""

    value: str = ""
    kind: str = ""
    expires: str = ""
    tags: dict[str, str] = field(default_factory=dict)  # category -> text, lists ~~~-joined
    errors: Errors = field(default_factory=dict)


def read_entry_form(
    form: Mapping[str, str], lists: Mapping[str, Sequence[str]], categories: Sequence[TagCategory]
) -> EntryForm:
    """The entry form's fields, each checked. ``lists`` holds every value of a field
    given several times (a multiple select)."""
    result = EntryForm(
        value=form.get("value", "").strip(),
        kind=form.get("kind", "").strip().lower(),
        expires=form.get("expires", "").strip(),
    )
    errors = result.errors
    if result.kind not in {k for k, _ in KIND_CHOICES}:
        errors["kind"] = "Choose one of the listed kinds."
    elif not result.value:
        errors["value"] = "Enter an address, CIDR block, DNS name or URL."
    else:
        try:
            parse_entry(result.value, result.kind or None)
        except Invalid as exc:
            errors["value"] = plain(exc)
    for tag in tag_fields(categories, {}):
        category = tag.category
        given = [v for v in lists.get(tag.name, ()) if v.strip()]
        text = LIST_SEPARATOR.join(given)
        result.tags[category.name] = text
        if is_empty(text):
            continue
        try:
            check_tag(category, given if category.kind is TagKind.LIST else text)
        except Invalid as exc:
            errors[tag.id] = plain(exc)
    if result.expires:
        try:
            read_expiry(result.expires)
        except Invalid as exc:
            errors["expires"] = plain(exc)
    return result


def read_expiry(text: str, now: datetime | None = None) -> datetime | None:
    """A form's expiry, in UTC (`utc_moment`), which must be in the future; blank is
    none."""
    moment = utc_moment(text)
    if moment is not None and moment <= (now or datetime.now(UTC)):
        raise Invalid("that time has already passed; choose a later one")
    return moment


def expiry_text(moment: datetime | None) -> str:
    """An expiry as a date-time input shows it (UTC, to the minute)."""
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


# -- category forms --------------------------------------------------------------------------


@dataclass
class CategoryForm:
    name: str = ""
    kind: str = "text"
    description: str = ""
    minimum: str = ""
    maximum: str = ""
    values: str = ""
    multiple: bool = False
    errors: Errors = field(default_factory=dict)
    category: TagCategory | None = None  # the checked category, when there are no errors


def _whole(text: str, name: str, errors: Errors) -> int | None:
    value = text.strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        errors[name] = "Enter a whole number, such as 0 or 100."
        return None


# The field a category error is about, by the words of the model's messages.
_CATEGORY_FIELDS = (
    ("minimum", "minimum"),
    ("maximum", "minimum"),
    ("64 bits", "minimum"),
    ("list value", "values"),
    ("list needs", "values"),
    ("list values", "values"),
    ("only a list has", "values"),
    ("multiple", "multiple"),
    ("unknown kind", "kind"),
    ("description", "description"),
)


def read_category_form(form: Mapping[str, str]) -> CategoryForm:
    result = CategoryForm(
        name=form.get("name", "").strip(),
        kind=form.get("kind", "text").strip().lower(),
        description=form.get("description", "").strip(),
        minimum=form.get("minimum", "").strip(),
        maximum=form.get("maximum", "").strip(),
        values=form.get("values", ""),
        multiple=form.get("multiple", "") in ("on", "yes", "true", "1"),
    )
    errors = result.errors
    if not result.name:
        errors["name"] = "Give the category a name."
    ranged = result.kind == "range"
    minimum = _whole(result.minimum, "minimum", errors) if ranged else None
    maximum = _whole(result.maximum, "maximum", errors) if ranged else None
    bounds_typed = not errors.keys() & {"minimum", "maximum"}
    if ranged and bounds_typed and (minimum is None or maximum is None):
        errors["minimum"] = "A number range needs a lowest and a highest value."
    listed = result.kind == "list"
    values = [v for v in result.values.splitlines() if v.strip()] if listed else []
    if errors:
        return result
    try:
        result.category = check_category(
            result.name,
            result.kind,
            description=result.description,
            minimum=minimum,
            maximum=maximum,
            choices=values,
            multiple=result.multiple and listed,
        )
    except Invalid as exc:
        message = str(exc)
        where = next((f for words, f in _CATEGORY_FIELDS if words in message), "name")
        errors[where] = plain(exc)
    return result
