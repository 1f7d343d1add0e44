"""Search the audit trail the way a compliance officer asks: by customer, time, kind and product.

Records store the customer id masked (``audit.record`` masks it), and masks are lossy:
``demo-13800000003`` and ``demo-13899990003`` both show as ``demo-138****0003``. So a plain id
typed by the officer (``demo-c3``, a phone number) is matched exactly on the records' keyed
customer reference (``bot.compliance.customer_ref``), as ``audit.of_customer`` does; records
without one (written before revision compliance_0006, or for a masked id only) are matched by
the masked id and so are listed for every customer sharing that mask. The masked form shown in
the table (with ``*``) finds every record of that mask. Times are compared in
UTC (SQLite keeps them naive, PostgreSQL aware). A product filter matches the product's id in
the record's product list.

Pages are read newest first. An export holds at most ``EXPORT_MAX`` records: a wider filter is
refused with the count, never cut silently, since a partial export read as complete would
mislead a reviewer.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import func, or_, select

from bot import db
from bot.compliance import audit
from bot.compliance.audit import AuditRecord
from bot.compliance.customer_ref import is_display_form
from bot.compliance.masking import mask

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
EXPORT_MAX = 10_000
PRODUCT_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}\Z")
RULE = re.compile(r"^[a-z][a-z0-9_]{0,39}\Z")
# What a record shows, in the order of an export's columns; prev_hash is the chain's business.
COLUMNS = ("id", "at", "customer_id", "kind", "c_level", "products", "warning_text", "emotion", "detail",
           "rules_version", "message_id", "hash")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class FilterError(ValueError):
    """A filter or page the console refuses; ``status`` is the HTTP status that says why."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Filter:
    customer: str | None = None   # as stored: masked (and as named in the officer's audit record)
    kind: str | None = None
    product: str | None = None
    since: datetime | None = None  # aware, UTC
    until: datetime | None = None
    rule: str | None = None        # a guard block's rule (guarantees, missing_warning, ...)
    # The plain id typed, matched exactly; never shown nor recorded (only ``customer`` is).
    exact_customer: str | None = field(default=None, repr=False)

    @classmethod
    def of(cls, args: Mapping[str, str | None]) -> Filter:
        """The filter the query arguments name; FilterError says what is wrong with one."""
        customer = (args.get("customer") or "").strip()
        if len(customer) > 128:
            raise FilterError('"customer" is longer than 128 characters')
        kind = (args.get("kind") or "").strip() or None
        if kind is not None and kind not in audit.KINDS:
            raise FilterError(f'"kind" must be one of {", ".join(audit.KINDS)}')
        product = (args.get("product") or "").strip() or None
        if product is not None and not PRODUCT_ID.match(product):
            raise FilterError('"product" is a product id: 1-64 letters, digits or _.-')
        rule = (args.get("rule") or "").strip() or None
        if rule is not None and not RULE.match(rule):
            raise FilterError('"rule" is a rule name in lower-case letters, digits and _')
        since, until = _time(args.get("from"), "from"), _time(args.get("to"), "to")
        if since and until and since > until:
            raise FilterError('"from" is after "to"')
        exact = customer if customer and not is_display_form(customer) else None
        return cls(mask(customer) or None, kind, product, since, until, rule, exact)

    def describe(self) -> str:
        """The filter in words, for the audit record of whoever used it."""
        parts = [f"{name}={value}" for name, value in (
            ("customer", self.customer), ("kind", self.kind), ("product", self.product),
            ("from", self.since and self.since.isoformat()), ("to", self.until and self.until.isoformat()),
            ("rule", self.rule)) if value]
        return " ".join(parts) or "no filter"


def _time(value: str | None, name: str) -> datetime | None:
    if not value or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise FilterError(f'"{name}" must be an ISO 8601 time, e.g. 2026-11-24T08:00:00Z') from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)  # the trail's own clock
    return parsed.astimezone(timezone.utc)


def page_args(args: Mapping[str, str | None]) -> tuple[int, int]:
    """(page number from 1, page size) from the query arguments."""
    try:
        number = int(args.get("page") or 1)
        size = int(args.get("size") or PAGE_SIZE)
    except ValueError:
        raise FilterError('"page" and "size" are whole numbers') from None
    if number < 1 or not 1 <= size <= MAX_PAGE_SIZE:
        raise FilterError(f'"page" starts at 1; "size" is 1..{MAX_PAGE_SIZE}')
    return number, size


def _session():
    return db.sessions(db.COMPLIANCE)()


def _bound(moment: datetime, dialect: str) -> datetime:
    return moment.replace(tzinfo=None) if dialect == "sqlite" else moment


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def conditions(filters: Filter, dialect: str) -> list:
    """The WHERE clauses of ``filters`` for a database of ``dialect``."""
    where = []
    if filters.exact_customer:
        where.append(audit.of_customer(filters.exact_customer))
    elif filters.customer:
        where.append(AuditRecord.customer_id == filters.customer)
    if filters.kind:
        where.append(AuditRecord.kind == filters.kind)
    if filters.product:  # products are stored as json.dumps([{"id": ..., "risk": ...}])
        where.append(AuditRecord.products.like(f'%"id": "{_like(filters.product)}"%', escape="\\"))
    if filters.since:
        where.append(AuditRecord.at >= _bound(filters.since, dialect))
    if filters.until:
        where.append(AuditRecord.at <= _bound(filters.until, dialect))
    if filters.rule:  # a guard block's detail: "rule: evidence; rule: evidence"
        rule = _like(filters.rule)
        where.append(or_(AuditRecord.detail.like(f"{rule}:%", escape="\\"),
                         AuditRecord.detail.like(f"%; {rule}:%", escape="\\")))
    return where


def _utc_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat()


def as_dict(row: AuditRecord) -> dict:
    """One record as the console shows and exports it (the columns the model has of ``COLUMNS``)."""
    shown = {}
    for name in COLUMNS:
        if name not in AuditRecord.__table__.columns:
            continue
        value = getattr(row, name)
        if name == "at":
            value = _utc_text(value)
        elif name == "products":
            value = json.loads(value or "[]")
        shown[name] = value
    return shown


def search(filters: Filter, number: int = 1, size: int = PAGE_SIZE, extra: tuple = ()) -> dict:
    """One page of the records ``filters`` (and ``extra`` clauses) select, newest first, with the total."""
    with _session() as session:
        where = [*conditions(filters, session.get_bind().dialect.name), *extra]
        total = session.scalar(select(func.count()).select_from(AuditRecord).where(*where))
        rows = session.scalars(select(AuditRecord).where(*where).order_by(AuditRecord.id.desc())
                               .offset((number - 1) * size).limit(size)).all()
        return {"total": total, "page": number, "size": size, "pages": max(1, -(-total // size)),
                "records": [as_dict(row) for row in rows]}


def export(filters: Filter) -> list[dict]:
    """Every record ``filters`` selects, oldest first; FilterError (413) when more than ``EXPORT_MAX``."""
    with _session() as session:
        where = conditions(filters, session.get_bind().dialect.name)
        total = session.scalar(select(func.count()).select_from(AuditRecord).where(*where))
        if total > EXPORT_MAX:
            raise FilterError(f"{total} records match; an export holds at most {EXPORT_MAX}: narrow the filter "
                              "(a shorter time range, a kind or a customer)", 413)
        rows = session.scalars(select(AuditRecord).where(*where).order_by(AuditRecord.id)).all()
        return [as_dict(row) for row in rows]


def _cell(value) -> str:
    """A CSV cell a spreadsheet shows as text: a leading = + - @ would run as a formula."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = "; ".join(f"{p.get('id')}({p.get('risk')})" for p in value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def to_csv(records: list[dict]) -> str:
    """Records as CSV (UTF-8 with a byte-order mark, so spreadsheets read the Chinese right)."""
    columns = [c for c in COLUMNS if c in AuditRecord.__table__.columns]
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow([_cell(record.get(c)) for c in columns])
    return out.getvalue()
