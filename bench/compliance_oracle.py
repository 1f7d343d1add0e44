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

import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
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
         "audit_unshown")

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
            for category, words in self.forbidden_wording(message.visible):
                fail("forbidden_wording", f"{category}: {words}", message.visible)
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

        everything = [i for ids in verdict.named for i in ids]
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
        for product_id in verdict.presented:
            if not risk_shown.get(product_id):
                fail("risk_level_not_shown", f"{product_id} shown without its risk level "
                     f"{self.by_id[product_id].risk}", " | ".join(m.visible for m in msgs))
        return verdict
