"""Make a customer's allocation report, store it and hand back a signed link token.

Steps: value the holdings, raise the review flags for holdings above the level (the report says
an advisor reviews them), build the content (which the compliance guard must pass, else
``ReportBlocked`` and nothing is stored), render HTML and PDF, store both with the expiry, sign
the link. Opening a link is ``report_links.open_report`` (no reportlab needed there).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from bot import settings
from bot.accounts import store as accounts
from bot.advisory import report_content, report_html, report_links, report_store, review_flags, valuation
from bot.advisory.report_content import ReportContent
from bot.advisory.texts import language_or_default
from bot.advisory.valuation import Portfolio


@dataclass(frozen=True)
class MadeReport:
    report_id: str
    token: str
    expires_at: datetime
    flags: tuple[review_flags.ReviewFlag, ...]  # raised or found for holdings above the level


@dataclass(frozen=True)
class Rendered:
    content: ReportContent
    html: str
    pdf: bytes


def customer_name(customer_id: str) -> str:
    """The name on the customer's account, else their id."""
    account = accounts.account(customer_id)
    return account.display_name if account is not None else customer_id


def render(portfolio: Portfolio, name: str, created: datetime, expires: datetime, language: str | None) -> Rendered:
    """HTML and PDF of the report for ``portfolio`` (raises ``report_content.ReportBlocked``)."""
    from bot.advisory import report_pdf  # reportlab: only where reports are made

    content = report_content.build(portfolio, name, created, expires, language)
    return Rendered(content, report_html.render(content), report_pdf.render(content))


def create_report(customer_id: str, language: str | None, now: datetime | None = None,
                  lifetime: timedelta | None = None) -> MadeReport:
    """Make, store and sign the customer's report; the link lasts ``lifetime``, by default
    ``settings.report_link_hours`` (the customer's own link; an agent's is shorter)."""
    language = language_or_default(language)
    created = now or datetime.now(timezone.utc)
    expires = created + (lifetime or timedelta(hours=settings.report_link_hours()))
    portfolio = valuation.portfolio(customer_id)
    flags = review_flags.flag_holdings_above_level(portfolio)
    local = settings.bank_timezone()
    rendered = render(portfolio, customer_name(customer_id), created.astimezone(local), expires.astimezone(local),
                      language)
    report_id = report_store.new_id()
    report_store.save(report_id, customer_id, language, created, expires, rendered.html, rendered.pdf)
    return MadeReport(report_id, report_links.issue(report_id, expires), expires, tuple(flags))
