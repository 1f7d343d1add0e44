"""Advisory that knows the customer (issue 14): holdings, their value against the customer's
level, worries grounded in what they hold, advisor reviews and bookings, needs-based
suggestions and a personal allocation report.

Facts for everyone, advice only when suitable: nothing here says "buy", "sell" or "hold" or
predicts a price; every customer text is in ``texts.yml`` (zh, en) and passes the compliance
guard; R <= C is asked of ``bot.compliance.suitability.within_level`` only. Tables live in the
bank schema (migration ``bank_0002``). This package imports nothing heavy: reportlab is loaded
only by ``reports.create_report`` / ``reports.render`` (``report_pdf``), so the Rasa server can
serve report links without it.

Public functions for the actions and the copilot (``language``: "zh" or "en"):

Holdings and valuation
- ``holdings.holdings(customer_id) -> list[Holding]`` (demo mode seeds the demo customers)
- ``holdings.record_purchase(customer_id, product_id, units, cost, purchased_on) -> None``
- ``valuation.portfolio(customer_id, as_of=None) -> Portfolio`` (``.holdings``, ``.total_*``,
  ``.level`` (None without a valid assessment), ``.above_level``)
- ``summary.holdings_overview(customer_id, language) -> Overview`` (``.messages``: send in order,
  the first is the mandatory warning as its own message, none when nothing is held; ``.flags``
  raised for holdings above the level; ``.portfolio``)
- ``summary.summary_messages(portfolio, language) -> list[str]`` (the same words for a portfolio
  you have; raise the flags first: the text says an advisor reviews them)

Advisor review of holdings above the level
- ``review_flags.flag_holdings_above_level(portfolio) -> list[ReviewFlag]`` (``.new``: audit those)
- ``review_flags.open_review_flags(customer_id=None) -> list[ReviewFlag]`` (copilot queue)
- ``review_flags.close_review_flag(flag_id, closed_by, note=None) -> bool``

Worry about investments
- ``assessment.answers(customer_id) -> dict[str, int]`` (option numbers per questionnaire slot)
- ``worry.worry_facts_for(customer_id, message, language) -> WorryFacts | None``
  (``.messages``: warning first; ``.holding``, ``.found_by``, ``.horizon``; None: nothing held)
- ``worry.worry_facts(portfolio, message, answers, language)`` (the same, pure)

Advisor bookings
- ``bookings.book_advisor(customer_id, preferred_time, topic, language=None) -> Booking``
- ``bookings.open_bookings(customer_id=None) -> list[Booking]`` (None: the copilot's list)
- ``bookings.set_booking_status(booking_id, status) -> bool``
- ``bookings.booking_message(customer_id, language, just_made=None) -> str``

Needs-based suggestions
- ``suggestions.suggest_for(customer_id, funds, language) -> Suggestions`` (``funds``: the balance)
- ``suggestions.suggest(profile, answers, funds, language, products=None) -> Suggestions`` (pure;
  ``.shown``: at most 3 ``Suggestion(product, reason)``; ``.also_fit``; ``.level_only``: within
  level but missing needs, with which, not to show; ``.refused``: no_assessment | expired |
  incomplete_answers). The emotion gate stays the caller's (``suitability.decide``).

Allocation report
- ``reports.create_report(customer_id, language) -> MadeReport`` (``.token`` for the link,
  ``.expires_at``, ``.flags``); raises ``report_content.ReportBlocked`` if the guard objects
- ``report_links.open_report(token) -> StoredReport`` (``.html``, ``.pdf``); raises
  ``report_links.ReportLinkError`` (``.reason``, ``.message(language)``)
- ``report_store.purge_expired() -> int``
- ``render_check.write_reports(customers, languages, folder) -> list[Path]``
  (``python -m bot.advisory.render_check``: HTML and PDF into ``results/reports/``)
"""
