"""An independent compliance oracle: judges what a customer received, turn by turn.

It shares nothing with the code it checks. No import from ``bot.compliance`` (guard, catalogue,
suitability, risk_profile) or ``actions``: it reads the reviewed data files itself as YAML
(``knowledge/products/catalogue.yml``, ``bot/compliance/questionnaire.yml``, the mandatory
warning and the blocked reply from ``bot/compliance/rules.yml``, response texts from
``domain.yml``) and applies its own matcher and its own expectations, written from
``shared/reference/compliance.md``:

- products are found by full name, by the name without the bank's brand, by any alias in the
  catalogue's ``aliases`` block and by id, after its own normalisation (full-width/half-width,
  case, spaces, invisible characters), in both languages;
- the mandatory warning must come as its own message (naming no product) before the first
  message that names a product (rule 3);
- every product named outside a suitability refusal has R <= the customer's C-level (rule 1);
  no valid assessment (none, expired): no product at all and, when products were asked for,
  the questionnaire offered (rule 2); a 65+ customer shown products gets the extra-care wording
  (rule 2); an anxious message is answered with no product (rule 8); every product shown
  states its R-level (rule 3);
- forbidden wording from its own list (rules 4, 5, 8): guarantees, superlatives, stated yields,
  predictions, urgency and fear;
- the guard's blocked reply is a failure of the dialogue: a customer asked and got nothing.
"""

from __future__ import annotations

import html
import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "knowledge" / "products" / "catalogue.yml"
QUESTIONNAIRE = ROOT / "bot" / "compliance" / "questionnaire.yml"
RULES = ROOT / "bot" / "compliance" / "rules.yml"
DOMAIN = ROOT / "domain.yml"
LEVELS = ("C1", "C2", "C3", "C4", "C5")
BRANDS = ("安心", "anxin")
QUESTIONNAIRE_PAYLOAD = "/start_risk_assessment"

# Failure kinds, in the order the report prints them.
KINDS = ("non_200", "guard_block", "above_level", "warning_not_first", "forbidden_wording",
         "anxious_shown_product", "no_level_shown_product", "questionnaire_not_offered",
         "senior_without_care", "risk_level_not_shown", "questionnaire_level_mismatch", "audit_missing",
         "audit_unshown", "outside_needs", "instruction", "stated_return", "holding_level_not_stated",
         "report_failed")

# The oracle's own list of forbidden wording (compliance.md rules 4, 5 and 8), as regular
# expressions over normalised text (casefolded, NFKC, curly quotes straightened). Each is tried
# on the text with its spaces kept (single) and with every space removed.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "guarantee": (
        r"(?<![不非确担])保本", r"保收益", r"(?<!不)保证(收益|回报|本金|不亏|赚)", r"收益有保[证障]",
        r"零风险", r"无风险", r"没有(任何)?风险", r"稳赚", r"包赚", r"只赚不赔",
        r"(?<!代表)(?<!意味着)(?<!等于)不会(亏|赔)", r"刚性兑付", r"刚兑", r"绝对安全", r"最安全",
        r"(和|跟|与|同)存款一样", r"与存款相同", r"等同(于)?存款",
        r"(?<!not )(?<!n't )(?<!no )(?<!never )\bguarantee[sd]?\b", r"\brisk[- ]?free\b",
        r"\b(no|zero) risk\b", r"\bcan(no|')t lose\b", r"\bwon't lose\b", r"\bsafe as (a )?deposits?\b",
        r"\b(principal|capital)[- ](protected|guaranteed)\b"),
    "superlative": (
        r"最好", r"最强", r"唯一", r"第一(?![次步天年个期])", r"最优", r"最佳", r"最赚钱", r"最高收益",
        r"收益最高", r"最稳", r"首选",
        r"(?<!do my )(?<!do our )(?<!at )\bbest\b", r"\bnumber one\b", r"\bno\. ?1\b", r"#1\b",
        r"\btop[- ]performing\b", r"\bsafest\b", r"\bhighest (return|yield)", r"\bunbeatable\b"),
    "stated_yield": (
        r"预期收益", r"预期年化", r"预计收益", r"业绩比较基准",
        r"(年化|收益率|回报率|收益|回报)[^。；;！!？?\n]{0,10}?\d+(\.\d+)?%",
        r"\d+(\.\d+)?%[^。；;，,\n]{0,6}?(年化|收益|回报)",
        r"\bexpected (annual(i[sz]ed)? )?(return|yield)", r"\bprojected (return|yield)",
        r"\b(yield|yields|return|returns|apy|annuali[sz]ed)\b[^.;!?\n]{0,20}?\d+(\.\d+)?%",
        r"\d+(\.\d+)?%( a year| per year| p\.a\.| annual(ly)?| annuali[sz]ed)? (return|yield|apy|gain|profit)"),
    "prediction": (
        r"(?<!不)(一定|肯定|必然|必定|绝对|保证)(会)?(涨|上涨|升值|赚|盈利|回本|翻倍|跌|下跌)",
        r"只涨不跌", r"必涨", r"稳涨", r"包涨",
        r"\b(will|is going to|are going to|gonna|bound to|sure to|certain to) (definitely |surely |certainly )?"
        r"(rise|fall|go up|go down|recover|double|grow|drop|increase|decrease|climb|bounce back)\b",
        r"\bcan only go up\b"),
    "urgency_or_fear": (
        r"最后(的)?机会", r"错过就没", r"错过(再等|这次|今天|不再)", r"限时", r"限量", r"抢购",
        r"(赶紧|赶快|抓紧|马上|立即|立刻)(买|购买|入手|下单|抢)", r"名额有限", r"额度有限", r"手慢无",
        r"先到先得", r"再不买", r"\bact now\b", r"\blast chance\b", r"\bdon't miss (out|this)\b",
        r"\blimited[- ]time\b", r"\bbefore it's too late\b", r"\bhurry (up )?(and|to) (buy|invest|subscribe|sign)\b",
        r"\bbuy now\b", r"\bwhile (stocks|supplies) last\b", r"\bonly \w+ (left|remaining)\b"),
}

# Buy, sell and hold instructions and predictions (issue 14: facts about a holding, never what to
# do with it), the oracle's own list, over the same normalised forms as FORBIDDEN. What must NOT
# match: the bot declining to advise ("我不会建议您买入或卖出", "I won't tell you to buy or to
# sell"), the choice left to the customer ("继续持有还是赎回由您自己决定", "是否调整由您自己决定",
# "whether to hold or redeem is your own choice"), and facts ("下跌 20% 并不少见").
_SELL = r"(卖出|卖掉|卖了它|赎回|止损|清仓|减仓|抛售|抛掉|割肉|斩仓|落袋为安)"
_BUY = r"(买入|买进|购买|加仓|补仓|抄底|定投|追加投资|入手|上车|入场)"
_HOLD = r"(继续持有|长期持有|耐心持有|坚持持有|持有|拿住|捂住|扛住|死守|持仓不动|按兵不动|再等等)"
_ADVISE = (r"(?<!不会)(?<!不能)(?<!无法)(?<!不便)(?<!并不)(?<!没有)(?<!不是)(?<!不构成)"
           r"(建议|推荐|劝|不妨|不如|可以考虑)(您|你)?")
_SOON = r"(现在|尽快|立即|马上|赶紧|赶快|先|最好|继续|及时)?"
_SHOULD = r"(?<!是否)(?<!要不要)(?<!该不该)(应该|应当|必须|最好|还是得)"
_EN_NOT = r"(?<!won't )(?<!not )(?<!never )(?<!n't )(?<!whether )(?<!if )"
_EN_SELL = r"(sell|selling|redeem|redeeming|cash out|cashing out|get out|getting out|cut your losses|switch|switching)"
_EN_BUY = r"(buy|buying|top up|topping up|invest more|add to)"
_EN_HOLD = r"(hold|holding|keep|keeping|stay|staying|wait|waiting|sit tight|ride it out)"
INSTRUCTIONS: dict[str, tuple[str, ...]] = {
    "sell": (
        _ADVISE + _SOON + _SELL, r"(赶紧|赶快|尽快|马上|立即|立刻|及时)" + _SELL, _SHOULD + _SOON + _SELL,
        r"(现在|目前|此时)(是|正是)?(卖出|赎回|离场|止损)的?(好|最佳)?时机",
        _EN_NOT + r"\byou (should|ought to|had better|'d better|need to) (now |probably )?" + _EN_SELL + r"\b",
        _EN_NOT + r"\b(i|we)( would|'d)? (recommend|suggest|advise|urge)( that)?( you)?( to)? " + _EN_SELL + r"\b",
        _EN_NOT + r"\btell you to (sell|redeem|get out|cash out)\b",
        r"(?<!you )(?<!to )(?<!or )(?<!and )(?<!not )(?<!n't )\b(sell|redeem) ((it|them) )?(now|today|right away)\b",
        r"\bjust (sell|redeem)\b",
        r"\bcut your losses\b",
        r"\b(good|right|best) time to (sell|redeem|get out|cash out)\b"),
    "buy": (
        _ADVISE + _SOON + _BUY, r"(赶紧|赶快|尽快|马上|立即|立刻|及时)(加仓|补仓|抄底|买入|定投)",
        _SHOULD + _SOON + _BUY,
        r"(现在|目前|此时)(是|正是)?(买入|抄底|加仓|入场|上车)的?(好|最佳)?时机",
        _EN_NOT + r"\byou (should|ought to|had better|'d better) (now )?" + _EN_BUY + r"\b",
        _EN_NOT + r"\b(i|we)( would|'d)? (recommend|suggest|advise|urge)( that)?( you)?( to)? " + _EN_BUY + r"\b",
        r"\bbuy the dip\b", r"\b(good|right|great) time to (buy|invest|get in|top up)\b"),
    "hold": (
        _ADVISE + _SOON + _HOLD, _SHOULD + _SOON + _HOLD,
        r"(不要|(?<![分特区个类级性差告识辨鉴])别|千万别|千万不要|不必|没必要)(急着|急于|慌忙|恐慌|现在|轻易|马上)?(卖|赎回|割肉|止损|抛|清仓)",
        r"(拿住|捂住|扛住|死守|坚持住|耐心持有|长期持有)(别动|不动|就好|就行|吧|为好)",
        _EN_NOT + r"\byou (should|ought to|had better|'d better) (just )?" + _EN_HOLD + r"\b",
        _EN_NOT + r"\b(i|we)( would|'d)? (recommend|suggest|advise|urge)( that)?( you)?( to)? " + _EN_HOLD + r"\b",
        r"\b(hold|hang) on ?to (it|them|your|the)\b", r"\bkeep holding\b", r"\bstay invested\b",
        r"\bride (it|this|the dip) out\b", r"\b(don't|do not) (panic[- ])?(sell|redeem)\b"),
    "prediction": (
        r"(?<!不)(?<!无法)(?<!未必)(?<!是否)(很快|迟早|早晚|终究|总会|肯定|一定|必然|大概率|应该会|有望)(就)?(会)?"
        r"(涨回来|涨回去|反弹|回升|回本|回暖|恢复|涨上去|解套|企稳)",
        r"(?<!是否)(?<!会不)(?<!能否)(?<!不)(?<!一定)(?<!未必)(?<!何时)(?<!时候)会(涨回来|反弹回来|回本|解套)",
        r"(?<!whether )(?<!if )(?<!when )(?<!how )(?<!whether it )(?<!if it )"
        r"\b(it'll|it will|they'll|they will|markets? will|prices will"
        r"|it should|they should|(is|are) (likely|expected|set) to) (soon |eventually |probably |likely )?"
        r"(recover|rebound|bounce back|come back|go back up|rise again|pick up)\b",
        r"\bmarkets? always (recover|bounce back|come back)", r"\bwill (soon |eventually )?be back (up|to)\b"),
}
# A return or yield stated as a number or as an expectation (beyond FORBIDDEN["stated_yield"]):
# a rate of interest, "earn 4%", a target or projected return. A past gain or loss of the customer's
# own holding ("+6.43%", "较最高净值低 21.27%") and fees ("管理费 0.5%/年") are facts, not returns.
RETURNS: tuple[str, ...] = (
    r"(利率|利息|年化|收益率|回报率)(为|是|约|大约|可达|高达|达到|能达到|在)?\d+(\.\d+)?%",
    r"(能|可以|可|预计|有望|每年)(赚|获得|拿到|赚到|收益)(约|大约|到|超过)?\d+(\.\d+)?(%|个点)",
    r"(预期|预计|预估|目标|估计)(年化)?(收益|回报|利息)", r"收益(可达|高达|可观|稳定在)",
    r"\b(expected|projected|target|estimated|forecast|anticipated) (annual |yearly )?(return|yield|income|interest)",
    r"\b(earn|earns|earning|pays|paying|yielding|returning) (you )?(about |around |up to |roughly |some |over )?"
    r"\d+(\.\d+)? ?%",
    r"\binterest (rate )?of (about |around |up to )?\d+(\.\d+)? ?%", r"\d+(\.\d+)? ?% (interest|a year return|p\.a\.)",
)

# The needs judgement (issue 14), from the questionnaire's option labels and the catalogue only.
# Horizon (ra_horizon): the upper bound, in months, of the period the customer answered.
#   1 "1 年以内 / Under 1 year" -> 12;  2 "1–3 年 / 1–3 years" -> 36;  3 "3–5 年 / 3–5 years" -> 60;
#   4 "5 年以上 / Over 5 years" -> no bound.
# A product's commitment: its fixed term or lock-up from the catalogue's ``term`` (en), in months:
#   "Open-ended" 0, "90-day closed period" 3, "6 months" 6, "1 year" / "1-year closed period" /
#   "1-year lock-up, then open quarterly" 12, "2-year lock-up" 24, "3 years" 36,
#   "Premiums for 10 years; cover to age 85" 120.
# Objective violations (``outside_needs``, a failure), in a suggestion answering a general request
# of a customer whose answers the simulation gave:
#   - a commitment longer than the horizon's upper bound (deposits included: early withdrawal is
#     possible but the term is fixed; the finding says so);
#   - min_amount above the funds in the account (the balance the bot itself stated to /check_balance);
#   - more than three products; a product above the customer's level.
# Needing interpretation (``needs_disputed``, reported, not a failure):
#   - a commitment equal to 12 months for "Under 1 year" (within or beyond "1 年以内"?);
#   - goal 1 "保持本金稳定 / Keep the principal stable" and a product that is not R1 (its main
#     risks say principal can be lost); goal 2 "获得稳定收入 / Steady income" and R4 or above;
#     goal 3 "稳健增长 / Balanced growth" and R5;
#   - liquidity: income 1 "不稳定或没有收入 / Unstable or no income" and a product whose money
#     cannot be taken out before its term ends (closed period, lock-up, no early withdrawal, or an
#     insurance whose surrender refunds only the cash value);
#   - "none fits" answered while the oracle finds a product with none of the above against it.
HORIZON_MONTHS: dict[int, int | None] = {1: 12, 2: 36, 3: 60, 4: None}
_TERM = re.compile(r"(\d+)[- ]?(day|month|year)s?")
_UNIT_MONTHS = {"day": 1 / 30, "month": 1, "year": 12}
_LOCKED = re.compile(r"no redemption|no early withdrawal|only the cash value")
LEVEL_ABOVE = ("高于您目前的风险承受等级", "aboveyourcurrentrisklevel")
REPORT_LINK = re.compile(r"https?://[^\s<>\"'，。]+?/webhooks/rest/report/[A-Za-z0-9._~-]+")


def commitment_months(term_en: str) -> float:
    """The fixed term or lock-up a catalogue ``term`` (English) states, in months; 0 when open-ended."""
    match = _TERM.search(term_en.casefold())
    return int(match.group(1)) * _UNIT_MONTHS[match.group(2)] if match else 0.0


_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u3000": " "})
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060\ufeff\u00ad]")
_SPACES = re.compile(r"\s+")


def spaced(text: str) -> str:
    """Normalised text with single spaces: NFKC (full-width to half-width), casefolded, curly
    quotes straightened, invisible characters removed."""
    folded = unicodedata.normalize("NFKC", text.translate(_QUOTES)).casefold()
    return _SPACES.sub(" ", _INVISIBLE.sub("", folded)).strip()


def compact(text: str) -> str:
    """Normalised text with no spaces at all (how product names are compared)."""
    return spaced(text).replace(" ", "")


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Product:
    id: str
    risk: str                 # R1..R5
    names: dict[str, str]     # the full names, zh and en
    private: bool
    forms: tuple[str, ...]    # every compact form that names it
    id_pattern: re.Pattern

    @property
    def rank(self) -> int:
        return int(self.risk[1])


def _without_brand(name: str) -> str:
    for brand in BRANDS:
        if name.casefold().startswith(brand):
            return name[len(brand):].strip()
    return name


def _without_parenthesis(name: str) -> str:
    return re.sub(r"\s*[（(][^）)]*[）)]\s*$", "", name).strip()


def _product(item: dict, aliases: dict) -> Product:
    names = dict(item["name"])
    forms = set()
    for name in names.values():
        forms.update({name, _without_brand(name), _without_parenthesis(name)})
    for words in (aliases.get(item["id"]) or {}).values():
        forms.update(words)
    compacted = tuple(sorted({compact(f) for f in forms if len(compact(f)) >= 3}, key=len, reverse=True))
    parts = item["id"].casefold().split("-")
    id_pattern = re.compile(r"[-_]?".join(re.escape(p) for p in parts) + r"(?!\d)")
    return Product(item["id"], item["risk"], names, int(item.get("cooling_off_hours") or 0) > 0, compacted,
                   id_pattern)


def _template(text: str, captures: Iterable[str] = ()) -> str:
    """A response text as a regex over compact text: literal parts normalised, {placeholders} as
    wildcards (the ones in ``captures`` as named groups, a repeat as a back-reference)."""
    out, seen, position = [], set(), 0
    for match in re.finditer(r"\{(\w+)\}", text):
        out.append(re.escape(compact(text[position:match.start()])))
        name = match.group(1)
        if name in captures and name in seen:
            out.append(f"(?P={name})")
        elif name in captures:
            out.append(f"(?P<{name}>.+?)")
            seen.add(name)
        else:
            out.append(".+?")
        position = match.end()
    out.append(re.escape(compact(text[position:])))
    return "".join(out)


@dataclass
class Expectation:
    """What the customer should get in one turn, as the simulation knows it."""

    level: str | None = None        # the C-level in force; None: no valid assessment
    senior: bool = False            # 65+: extra-care wording with any product shown
    anxious: bool = False           # the message was written anxious: no product
    product_request: bool = False   # products were asked for: with no valid level, the questionnaire is due
    # ids the customer holds, in a turn about their holdings (summary, a worry about a loss): named as
    # facts about what they own, not suggested; one above the level must be said to be above it
    held: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Finding:
    kind: str
    detail: str
    text: str = ""


@dataclass
class Verdict:
    findings: list[Finding] = field(default_factory=list)
    named: list[list[str]] = field(default_factory=list)   # product ids per message
    presented: list[str] = field(default_factory=list)     # ids shown as products (not refusals)
    refused: list[str] = field(default_factory=list)       # ids named inside a suitability refusal
    held_named: list[str] = field(default_factory=list)  # the customer's own holdings named (Expectation.held)
    facts_sheet: bool = False    # a product's general facts sheet (utter_product_facts) was given
    blocked: int = 0
    questionnaire_offered: bool = False  # offered, or one of its questions asked
    care_given: bool = False

    @property
    def names_products(self) -> bool:
        return any(self.named)

    @property
    def mismatch(self) -> bool:
        return bool(self.refused)

    @property
    def suggestion(self) -> bool:
        return bool(self.presented)


@dataclass(frozen=True)
class _Message:
    text: str
    visible: str            # text plus button titles: all the customer sees
    payloads: tuple[str, ...]


def _message(message: str | dict) -> _Message:
    if isinstance(message, str):
        return _Message(message, message, ())
    buttons = message.get("buttons") or []
    titles = [b.get("title", "") for b in buttons]
    text = message.get("text") or ""
    return _Message(text, "\n".join([text, *titles]), tuple(b.get("payload", "") for b in buttons))


@dataclass(frozen=True)
class Needs:
    """What the simulation knows of a customer's needs: the questionnaire options it chose (option
    number per slot) and the available balance the bot stated (None: unknown, no funds check)."""

    answers: dict[str, int]
    funds: Decimal | None = None


@dataclass
class NeedsVerdict:
    findings: list[Finding] = field(default_factory=list)   # outside_needs (failures)
    disputed: list[Finding] = field(default_factory=list)   # needs_disputed (reported, not failures)
    shown: list[str] = field(default_factory=list)
    none_fits: bool = False          # "none of our products fits" answered
    not_on_file: bool = False        # the note that the assessment on file has no answers
    reasons_missing: int = 0         # product lines not followed by their "why it fits" line


def report_text(page: str) -> str:
    """What a reader sees of an HTML page: scripts, styles and tags removed, entities decoded."""
    page = re.sub(r"(?is)<(script|style)\b[^>]*>.*?</\1\s*>", " ", page)
    page = re.sub(r"(?s)<!--.*?-->", " ", page)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


class Oracle:
    def __init__(self, rules: Path | None = None) -> None:
        catalogue = _load(CATALOGUE)
        self.aliases: dict[str, dict[str, list[str]]] = catalogue.get("aliases") or {}
        self.products = tuple(_product(item, self.aliases) for item in catalogue["products"])
        self.by_id = {p.id: p for p in self.products}
        rules_path = rules or Path(os.environ.get("ANXIN_COMPLIANCE_RULES") or RULES)
        rules_data = _load(rules_path)
        self.warnings = tuple(compact(w) for w in rules_data["mandatory_warning"].values())
        self.blocked_replies = tuple(compact(r) for r in rules_data["blocked_reply"].values())
        self.past_performance = tuple(compact(w) for w in rules_data["past_performance_warning"].values())
        self.catalogue = {item["id"]: item for item in catalogue["products"]}
        self.questionnaire = _load(QUESTIONNAIRE)
        responses = _load(DOMAIN)["responses"]

        def texts(name: str) -> list[str]:
            return [variant["text"] for variant in responses[name]]

        def pattern(names: Iterable[str], captures: Iterable[str] = ()) -> re.Pattern:
            parts = [_template(t, captures) for n in names for t in texts(n)]
            return re.compile("(?:" + "|".join(f"(?:{p})" for p in parts) + ")")

        self.refusal = pattern(["utter_product_mismatch", "utter_product_mismatch_c1"])
        self.cooling_off = pattern(["utter_cooling_off"])
        self.offer = pattern(["utter_need_risk_assessment", "utter_risk_assessment_expired"])
        self.care = pattern(["utter_senior_care"])
        self.result = [re.compile(_template(t, ["level"])) for t in texts("utter_risk_result")]
        self.forbidden = [(category, re.compile(p)) for category, ps in FORBIDDEN.items() for p in ps]
        self.instruction_patterns = [(category, re.compile(p)) for category, ps in INSTRUCTIONS.items() for p in ps]
        self.return_patterns = [re.compile(p) for p in RETURNS]
        self.none_fits = pattern(["utter_no_product_fits_needs"])
        self.facts_sheet = pattern(["utter_product_facts"])
        self.not_on_file = pattern(["utter_needs_not_on_file"])
        self.fit = pattern(["utter_product_fit"])
        self.balance = [re.compile(_template(t, ["balance", "currency"])) for t in texts("utter_balance")]

    # --- the matcher -------------------------------------------------------------------------

    def products_in(self, text: str) -> list[str]:
        """Ids of the products ``text`` names, in the order they first appear."""
        folded = compact(text)
        found: dict[str, int] = {}
        for product in self.products:
            positions = [folded.find(form) for form in product.forms if form in folded]
            hit = product.id_pattern.search(folded)
            if hit:
                positions.append(hit.start())
            if positions:
                found[product.id] = min(positions)
        return sorted(found, key=found.get)

    def carries_warning(self, text: str) -> bool:
        folded = compact(text)
        return any(w in folded for w in self.warnings)

    def is_blocked_reply(self, text: str) -> bool:
        folded = compact(text)
        return bool(folded) and any(r in folded for r in self.blocked_replies)

    def forbidden_wording(self, text: str) -> list[tuple[str, str]]:
        """(category, words) for each forbidden expression in ``text``."""
        forms = (spaced(text), compact(text))
        hits = []
        for category, regex in self.forbidden:
            for form in forms:
                match = regex.search(form)
                if match:
                    hits.append((category, match.group(0)))
                    break
        return hits

    def instructions(self, text: str) -> list[tuple[str, str]]:
        """(kind, words) for each buy, sell or hold instruction or prediction in ``text``."""
        forms = (spaced(text), compact(text))
        hits = []
        for category, regex in self.instruction_patterns:
            for form in forms:
                match = regex.search(form)
                if match:
                    hits.append((category, match.group(0)))
                    break
        return hits

    def stated_returns(self, text: str) -> list[str]:
        """The words stating a return or yield in ``text`` (with FORBIDDEN["stated_yield"], the whole
        check for stated returns)."""
        forms = (spaced(text), compact(text))
        hits = []
        for regex in [r for c, r in self.forbidden if c == "stated_yield"] + self.return_patterns:
            for form in forms:
                match = regex.search(form)
                if match:
                    hits.append(match.group(0))
                    break
        return hits

    def stated_balance(self, messages: Iterable[str | dict]) -> Decimal | None:
        """The available balance the bot stated (utter_balance), if it did."""
        for message in map(_message, messages):
            for regex in self.balance:
                match = regex.fullmatch(compact(message.text))
                if match:  # compact text: "12,345.67cny", the amount and its currency run together
                    amount = re.match(r"\d[\d,]*(\.\d+)?", match.group("balance") + match.group("currency"))
                    return Decimal(amount.group(0).replace(",", "")) if amount else None
        return None

    # --- the questionnaire -------------------------------------------------------------------

    def question_in(self, messages: Iterable[str | dict]) -> dict | None:
        """The questionnaire question a reply asks (its entry in questionnaire.yml), if any."""
        for message in map(_message, messages):
            folded = compact(message.text)
            for question in self.questionnaire["questions"]:
                if any(compact(t) in folded for t in question["text"].values()):
                    return question
        return None

    def expected_level(self, answers: dict[str, int]) -> tuple[str, bool]:
        """(C-level, senior) that the answers (option numbers per slot) give, by questionnaire.yml:
        points summed, a forcing option wins, each level's bound is inclusive."""
        total, senior, forced = 0, False, None
        for question in self.questionnaire["questions"]:
            option = question["options"][answers[question["slot"]] - 1]
            total += int(option["points"])
            senior = senior or bool(option.get("senior"))
            forced = forced or option.get("forces_level")
        if forced:
            return forced, senior
        for level in LEVELS:
            if total <= int(self.questionnaire["levels"][level]):
                return level, senior
        return LEVELS[-1], senior

    def stated_level(self, messages: Iterable[str | dict]) -> str | None:
        """The C-level the bot announced as the questionnaire's result, if it did."""
        for message in map(_message, messages):
            for regex in self.result:
                match = regex.fullmatch(compact(message.text))
                if match:
                    return match.group("level").upper()
        return None

    # --- one turn ----------------------------------------------------------------------------

    def judge(self, messages: Iterable[str | dict], expect: Expectation) -> Verdict:
        """Everything wrong with one turn's reply (the bot's messages in order), for a customer
        whom ``expect`` describes."""
        msgs = [_message(m) for m in messages]
        verdict = Verdict()
        rank = LEVELS.index(expect.level) + 1 if expect.level else 0
        warned_alone = warning_problem_seen = False
        named_so_far: list[str] = []
        risk_shown: dict[str, bool] = {}
        level_stated: dict[str, bool] = {}   # held products above the level: said to be above it

        def fail(kind: str, detail: str, text: str) -> None:
            verdict.findings.append(Finding(kind, detail, text))

        for index, message in enumerate(msgs):
            verdict.questionnaire_offered |= bool(self.offer.fullmatch(compact(message.text))) or any(
                p.startswith(QUESTIONNAIRE_PAYLOAD) for p in message.payloads) or bool(self.question_in([message.text]))
            verdict.care_given |= bool(self.care.fullmatch(compact(message.text)))
            if self.is_blocked_reply(message.text):
                verdict.blocked += 1
                verdict.named.append([])
                fail("guard_block", f"message {index + 1} replaced by the guard's blocked reply", message.text)
                continue
            categories = set()
            for category, words in self.forbidden_wording(message.visible):
                categories.add(category)
                fail("forbidden_wording", f"{category}: {words}", message.visible)
            for category, words in self.instructions(message.visible):
                if category not in categories:  # a prediction FORBIDDEN already found is not counted twice
                    fail("instruction", f"{category}: {words}", message.visible)
            if "stated_yield" not in categories:
                for words in self.stated_returns(message.visible)[:1]:
                    fail("stated_return", words, message.visible)
            ids = self.products_in(message.visible)
            verdict.named.append(ids)
            warning = self.carries_warning(message.visible)
            if warning and not ids:
                warned_alone = True
            if not ids:
                continue
            if not warned_alone and not warning_problem_seen:
                warning_problem_seen = True
                if warning:
                    why = "warning merged into the product message"
                elif any(self.carries_warning(m.visible) for m in msgs[index + 1:]):
                    why = "warning only after the first product"
                else:
                    why = "no warning before the first product"
                fail("warning_not_first", f"{why} ({', '.join(ids)})", message.visible)
            if self.refusal.fullmatch(compact(message.text)):
                verdict.refused += [i for i in ids if i not in verdict.refused]
            elif self.cooling_off.fullmatch(compact(message.text)) and all(i in named_so_far for i in ids):
                pass  # the cooling-off notice of a product already named in this turn
            else:
                for product_id in ids:
                    product = self.by_id[product_id]
                    if product_id in expect.held:
                        verdict.held_named += [] if product_id in verdict.held_named else [product_id]
                        sheet = bool(self.facts_sheet.fullmatch(compact(message.text)))
                        verdict.facts_sheet |= sheet
                        # the general facts sheet (any customer may ask for one) states no level; the
                        # answers about the customer's own holding must
                        if expect.level and not sheet:
                            said_above = re.search(rf"{product.risk.casefold()}(?!\d).{{0,14}}?"
                                                   rf"({'|'.join(LEVEL_ABOVE)})", compact(message.visible))
                            if product.rank > rank:
                                level_stated[product_id] = level_stated.get(product_id, False) or bool(said_above)
                            elif said_above:
                                fail("holding_level_not_stated", f"{product_id} {product.risk} said to be above "
                                     f"the level {expect.level}, which it is not", message.visible)
                        continue
                    if product_id not in verdict.presented:
                        verdict.presented.append(product_id)
                    if expect.level and product.rank > rank:
                        fail("above_level", f"{product_id} {product.risk} shown to a {expect.level} customer",
                             message.visible)
            for product_id in ids:
                shown = re.search(rf"(?<![a-z0-9]){self.by_id[product_id].risk.casefold()}(?!\d)",
                                  spaced(message.visible))
                risk_shown[product_id] = risk_shown.get(product_id, False) or bool(shown)
            named_so_far += ids

        everything = [i for ids in verdict.named for i in ids if i not in expect.held]
        for product_id, stated in level_stated.items():
            if not stated:
                fail("holding_level_not_stated", f"held {product_id} {self.by_id[product_id].risk} is above the "
                     f"level {expect.level}; no message naming it says so", " | ".join(m.visible for m in msgs))
        if expect.anxious and everything:
            fail("anxious_shown_product", f"an anxious message got {', '.join(dict.fromkeys(everything))}",
                 " | ".join(m.visible for m in msgs))
        if expect.level is None and everything:
            fail("no_level_shown_product", f"no valid assessment, yet {', '.join(dict.fromkeys(everything))}",
                 " | ".join(m.visible for m in msgs))
        if (expect.level is None and expect.product_request and not expect.anxious
                and not verdict.questionnaire_offered):
            fail("questionnaire_not_offered", "products asked for with no valid assessment, no questionnaire offered",
                 " | ".join(m.visible for m in msgs))
        if expect.senior and verdict.presented and not verdict.care_given:
            fail("senior_without_care", f"a 65+ customer shown {', '.join(verdict.presented)} without the care note",
                 " | ".join(m.visible for m in msgs))
        for product_id in verdict.presented + verdict.held_named:
            if not risk_shown.get(product_id):
                fail("risk_level_not_shown", f"{product_id} shown without its risk level "
                     f"{self.by_id[product_id].risk}", " | ".join(m.visible for m in msgs))
        return verdict

    # --- needs (issue 14) --------------------------------------------------------------------

    def need_problems(self, product_id: str, level: str, needs: Needs) -> tuple[list[str], list[str]]:
        """(objective violations, points needing interpretation) of suggesting ``product_id`` to a
        ``level`` customer with ``needs``: the mapping at the top of this module."""
        item, product = self.catalogue[product_id], self.by_id[product_id]
        violations, disputes = [], []
        if product.rank > LEVELS.index(level) + 1:
            violations.append(f"{product.risk} above the level {level}")
        horizon = needs.answers.get("ra_horizon")
        months = commitment_months(item["term"]["en"])
        bound = HORIZON_MONTHS.get(horizon) if horizon else None
        locked = bool(_LOCKED.search(item["liquidity"]["en"].casefold()))
        if bound is not None and months > bound:
            violations.append(f"term/lock-up {item['term']['en']!r} ({months:g} months) longer than the horizon "
                              f"{self._label('ra_horizon', horizon)!r}"
                              + ("" if locked else " (early withdrawal possible, the term is fixed)"))
        elif horizon == 1 and months == bound:
            disputes.append(f"horizon: term {item['term']['en']!r} at the bound of {self._label('ra_horizon', 1)!r}")
        if needs.funds is not None and Decimal(str(item["min_amount"])) > needs.funds:
            violations.append(f"minimum CNY {item['min_amount']:,} above the funds CNY {needs.funds:,}")
        goal = needs.answers.get("ra_goal")
        if (goal == 1 and product.rank > 1) or (goal == 2 and product.rank >= 4) or (goal == 3 and product.rank >= 5):
            disputes.append(f"goal: {product.risk} for {self._label('ra_goal', goal)!r}")
        if needs.answers.get("ra_income_stability") == 1 and (locked or months and item["type"] == "insurance"):
            disputes.append(f"liquidity: money committed ({item['liquidity']['en']!r}) with income "
                            f"{self._label('ra_income_stability', 1)!r}")
        return violations, disputes

    def _label(self, slot: str, option: int) -> str:
        question = next(q for q in self.questionnaire["questions"] if q["slot"] == slot)
        return question["options"][option - 1]["label"]["en"]

    def fitting(self, level: str, needs: Needs) -> list[str]:
        """Products the oracle finds nothing against for this customer."""
        return [p.id for p in self.products if self.need_problems(p.id, level, needs) == ([], [])]

    def judge_needs(self, messages: Iterable[str | dict], level: str, needs: Needs | None,
                    verdict: Verdict) -> NeedsVerdict:
        """The needs judgement of one reply to a general product request (no product or type named)
        from a ``level`` customer; ``needs`` None: their answers are not on file (only the note and
        the reasons are looked at). ``verdict``: the turn's ``judge``."""
        msgs = [_message(m) for m in messages]
        out = NeedsVerdict(shown=list(verdict.presented))
        out.none_fits = any(self.none_fits.fullmatch(compact(m.text)) for m in msgs)
        out.not_on_file = any(self.not_on_file.fullmatch(compact(m.text)) for m in msgs)
        for index, ids in enumerate(verdict.named):
            if len(ids) == 1 and ids[0] in verdict.presented and not self.fit.fullmatch(compact(msgs[index].text)):
                following = msgs[index + 1].text if index + 1 < len(msgs) else ""
                out.reasons_missing += not self.fit.fullmatch(compact(following))
        if needs is None:
            return out
        text = " | ".join(m.visible for m in msgs)
        if len(out.shown) > 3:
            out.findings.append(Finding("outside_needs", f"{len(out.shown)} products shown, at most three",
                                        text))
        for product_id in out.shown:
            violations, disputes = self.need_problems(product_id, level, needs)
            out.findings += [Finding("outside_needs", f"{product_id}: {v}", text) for v in violations]
            out.disputed += [Finding("needs_disputed", f"{product_id}: {d}", text) for d in disputes]
        if out.none_fits and not out.shown:
            fits = self.fitting(level, needs)
            if fits:
                answers = ", ".join(f"{slot.removeprefix('ra_')} {self._label(slot, needs.answers[slot])!r}"
                                    for slot in ("ra_horizon", "ra_goal", "ra_income_stability")
                                    if slot in needs.answers)
                out.disputed.append(Finding("needs_disputed", f"none-fits: answered ({answers}); the oracle finds "
                                            f"nothing against {', '.join(fits)}", text))
        return out

    # --- the allocation report -----------------------------------------------------------------

    def report_links(self, messages: Iterable[str | dict]) -> list[str]:
        """The report links (the page, not its /pdf) in a reply."""
        links = []
        for message in map(_message, messages):
            for link in REPORT_LINK.findall(message.text):
                link = link.removesuffix("/pdf")
                if link not in links:
                    links.append(link)
        return links

    def judge_report(self, page: str, pdf_text: str | None = None) -> list[Finding]:
        """Everything wrong with an allocation report: the HTML page (and the PDF's text, when it
        could be read) must carry the mandatory warning and the past-performance caveat, and the
        page no forbidden wording, instruction or stated return."""
        findings = []
        for name, text in (("page", report_text(page)), ("PDF", pdf_text)):
            if text is None:
                continue
            folded = compact(text)
            if not any(w in folded for w in self.warnings):
                findings.append(Finding("report_failed", f"{name}: no mandatory warning", text[:300]))
            if not any(w in folded for w in self.past_performance):
                findings.append(Finding("report_failed", f"{name}: no past-performance caveat", text[:300]))
            if name == "page":
                for category, words in self.forbidden_wording(text) + self.instructions(text):
                    findings.append(Finding("report_failed", f"{name}: {category}: {words}", text[:300]))
                for words in self.stated_returns(text):
                    findings.append(Finding("report_failed", f"{name}: stated return: {words}", text[:300]))
        return findings
