"""What an agent sees of the customer on the line beyond the conversation: what they hold
(value, gain or loss, each holding's level against theirs), holdings flagged for an advisor's
review because they are above the customer's current level, and open advisor bookings
(``bot.advisory``). Read only: the agent changes nothing here, and the customer is told
nothing by it."""

from __future__ import annotations

from bot.advisory import bookings, review_flags, valuation
from bot.compliance import catalogue


def _money(amount) -> str:
    return f"{amount:.2f}"


def advisory_view(customer_id: str, language: str = "zh") -> dict:
    portfolio = valuation.portfolio(customer_id)
    held = [{"product_id": h.product.id, "name": h.product.name[language], "risk": h.product.risk,
             "value": _money(h.value), "gain": _money(h.gain), "gain_pct": f"{h.gain_pct:.2f}",
             "from_peak_pct": f"{h.from_peak_pct:.2f}", "within_level": h.within_level,
             "since": h.holding.purchased_on.isoformat()}
            for h in portfolio.holdings]
    names = {p.id: p.name[language] for p in catalogue.products()}
    flags = [{"id": f.id, "product_id": f.product_id, "name": names.get(f.product_id, f.product_id),
              "risk": f.product_risk, "customer_level": f.customer_level, "status": f.status,
              "raised_at": f.raised_at.isoformat()}
             for f in review_flags.open_review_flags(customer_id)]
    booked = [{"id": b.id, "preferred_time": b.preferred_time, "topic": b.topic, "status": b.status,
               "created_at": b.created_at.isoformat()} for b in bookings.open_bookings(customer_id)]
    return {"customer_id": customer_id, "level": portfolio.level, "as_of": portfolio.as_of.isoformat(),
            "total_value": _money(portfolio.total_value), "total_gain": _money(portfolio.total_gain),
            "total_gain_pct": f"{portfolio.total_gain_pct:.2f}", "holdings": held, "review_flags": flags,
            "bookings": booked}
