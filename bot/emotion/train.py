"""Train the emotion head: ``python -m bot.emotion.train`` (reproducible: fixed seed, fixed data).

Training data: the hand-written banking messages in data/emotion/train.yml, plus every NLU
training example of data/nlu except the complaint and market_worry intents as "calm" (real banking questions,
which keep ordinary questions from being read as anxious). Writes models/emotion/head.pkl.

Two settings are chosen on data/emotion/dev.yml, a small development set written the plain way
customers write (cross-validation on train.yml proved too optimistic: its anxious messages
say "worried" outright, customers often do not): the regularisation strength C, and the
probability of "anxious" above which a message the head would call calm is treated as anxious
(``anxious_over_calm``). The score is macro F1 over the four classes plus F2 for anxious —
recall weighs double, since a missed anxious customer gets a product pitch while a false alarm
gets a gentler tone and the offer of a person. The head is then refitted on train + dev with
those settings. The bench's evaluation set plays no part in any of it.

A third setting separates two decisions the label used to make together (``empathy_at``):
*holding back selling* uses the label above (a low threshold: a missed anxious customer costs
more), while *saying something empathetic* needs the head's most probable label to be anxious,
distressed or angry with at least this probability (a high threshold: a calm customer told
"I can hear you're worried" feels patronised). It is chosen on out-of-fold probabilities of
train + dev (5-fold cross-validation with the chosen C; the head is fitted on dev, so dev alone
cannot judge it): the lowest threshold at which at most 2% of calm messages would get an opener.

Choosing is a deliberate step (``--choose``), whose result is committed in
data/emotion/settings.yml; a normal build only refits with those settings. Re-choosing on
every build made the head depend on the machine: the e5 embedding differs in its last bits
between CPUs (AVX-512 VNNI vs AVX2 kernels), near-tied settings on the development set then
swapped (C=256/0.2 on the AMD machine that chose them, C=64/0.3 on an Intel one), and
borderline messages changed label. On one machine the features are identical whatever the
thread count (checked: same SHA-256 with 1 and 2 threads).
"""

from __future__ import annotations

import argparse
import pickle
import time
from pathlib import Path

import numpy as np
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, fbeta_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from bot import settings
from bot.emotion.classifier import decide, features, opener_due
from bot.settings import PROJECT_ROOT

TRAIN_FILE = PROJECT_ROOT / "data" / "emotion" / "train.yml"
DEV_FILE = PROJECT_ROOT / "data" / "emotion" / "dev.yml"
SETTINGS_FILE = PROJECT_ROOT / "data" / "emotion" / "settings.yml"
# The crisis head (self-harm / suicide or not): trained on crisis_train.yml (+ the developer's
# crisis_dev.yml) with every emotion-training and NLU message as "not crisis"; its threshold is
# chosen on crisis_tune.yml, written by another hand apart from the benchmark set.
CRISIS_TRAIN = (PROJECT_ROOT / "data" / "emotion" / "crisis_train.yml",
                PROJECT_ROOT / "data" / "emotion" / "crisis_dev.yml")
CRISIS_TUNE = PROJECT_ROOT / "data" / "emotion" / "crisis_tune.yml"
CRISIS_MAX_FALSE_ALARMS = 0.05  # near misses flagged, at most, on the tuning set
NLU_FILES = sorted((PROJECT_ROOT / "data" / "nlu").glob("*.yml"))
NOT_CALM_INTENTS = {"complaint", "market_worry"}  # these carry feeling by definition
C_GRID = (4.0, 16.0, 64.0, 256.0)
ANXIOUS_OVER_CALM_GRID = (1.0, 0.4, 0.3, 0.2)  # 1.0: never overrule the head's calm
EMPATHY_GRID = tuple(round(0.4 + 0.05 * i, 2) for i in range(12))  # 0.4 .. 0.95
EMPATHY_MAX_CALM = 0.02  # calm messages that may get an opener, out of fold (the target is 3%)
SEED = 7


def labelled(path: Path) -> tuple[list[str], list[str]]:
    """Messages and labels of a {label: {language: [message, ...]}} file."""
    texts, labels = [], []
    for label, by_language in yaml.safe_load(path.read_text(encoding="utf-8")).items():
        for messages in by_language.values():
            texts += messages
            labels += [label] * len(messages)
    return texts, labels


def training_set() -> tuple[list[str], list[str]]:
    texts, labels = labelled(TRAIN_FILE)
    for path in NLU_FILES:
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            if "intent" in block and block["intent"] not in NOT_CALM_INTENTS:
                examples = [line[2:].strip() for line in block["examples"].splitlines() if line.startswith("- ")]
                examples = [e for e in examples if "[" not in e and "{" not in e]  # skip annotated ones
                texts += examples
                labels += ["calm"] * len(examples)
    return texts, labels


def _head(c: float) -> LogisticRegression:
    return LogisticRegression(C=c, class_weight="balanced", max_iter=5000, random_state=SEED)


def _scores(gold: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    anxious = predicted == "anxious"
    macro = f1_score(gold, predicted, average="macro")
    f2 = fbeta_score(gold, predicted, beta=2, labels=["anxious"], average="macro")
    return {"score": round(float(macro + f2), 4), "macro_f1": round(float(macro), 3),
            "anxious_recall": round(float(np.mean(anxious[gold == "anxious"])), 3),
            "anxious_precision": round(float(np.mean(gold[anxious] == "anxious")), 3)}


def choose_settings(x: np.ndarray, labels: list[str], dev_x: np.ndarray, dev_labels: list[str]) -> dict:
    """The (C, anxious_over_calm) pair with the best dev score, and its dev figures."""
    gold = np.asarray(dev_labels)
    best = None
    for c in C_GRID:
        head = _head(c).fit(x, labels)
        probabilities = head.predict_proba(dev_x)
        for threshold in ANXIOUS_OVER_CALM_GRID:
            predicted = np.array([decide(dict(zip(head.classes_, row, strict=True)), threshold)
                                  for row in probabilities])
            scores = _scores(gold, predicted)
            if best is None or scores["score"] > best["dev"]["score"]:
                best = {"C": c, "anxious_over_calm": threshold, "dev": scores}
    return best


def choose_empathy_threshold(x: np.ndarray, labels: list[str], c: float) -> dict:
    """The lowest ``empathy_at`` at which at most EMPATHY_MAX_CALM of calm messages would get an
    opener, judged on out-of-fold probabilities; with the share of feeling messages that would."""
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
    probabilities = cross_val_predict(_head(c), x, labels, cv=folds, method="predict_proba")
    classes = sorted(set(labels))  # cross_val_predict orders columns as the head's classes_
    rows = [dict(zip(classes, row, strict=True)) for row in probabilities]
    gold = np.asarray(labels)
    for threshold in EMPATHY_GRID:
        opened = np.array([opener_due(row, threshold) for row in rows])
        calm = float(np.mean(opened[gold == "calm"]))
        if calm <= EMPATHY_MAX_CALM:
            return {"empathy_at": threshold, "empathy_calm_out_of_fold": round(calm, 3),
                    "empathy_feeling_out_of_fold": round(float(np.mean(opened[gold != "calm"])), 3)}
    return {"empathy_at": EMPATHY_GRID[-1]}


def chosen_settings() -> dict:
    """The committed settings (written by ``--choose``)."""
    return yaml.safe_load(SETTINGS_FILE.read_text(encoding="utf-8"))


def crisis_set(paths) -> tuple[list[str], list[int]]:
    texts, labels = [], []
    for path in paths:
        for label, by_language in yaml.safe_load(path.read_text(encoding="utf-8")).items():
            for messages in by_language.values():
                texts += messages
                labels += [int(label == "crisis")] * len(messages)
    return texts, labels


def _crisis_head(x: np.ndarray, labels: list[int]) -> LogisticRegression:
    return LogisticRegression(C=4.0, class_weight="balanced", max_iter=5000, random_state=SEED).fit(x, labels)


def choose_crisis_threshold(head: LogisticRegression) -> dict:
    """The lowest threshold keeping near-miss false alarms on the tuning set within bounds."""
    texts, labels = crisis_set([CRISIS_TUNE])
    probabilities, gold = head.predict_proba(features(texts))[:, 1], np.asarray(labels)
    best = None
    for threshold in np.arange(0.05, 0.96, 0.05):
        flagged = probabilities >= threshold
        alarms = float(np.mean(flagged[gold == 0]))
        if alarms <= CRISIS_MAX_FALSE_ALARMS:
            recall = float(np.mean(flagged[gold == 1]))
            best = {"crisis_at": round(float(threshold), 2), "tune_recall": round(recall, 3),
                    "tune_false_alarms": round(alarms, 3)}
            break
    return best or {"crisis_at": 0.95}


def _crisis_training(texts: list[str], labels: list[str], x: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Crisis messages against the near misses and every other training message."""
    crisis_texts, crisis_labels = crisis_set(CRISIS_TRAIN)
    return np.vstack([features(crisis_texts), x]), crisis_labels + [0] * len(texts)


def choose(what: str = "all") -> dict:
    """Choose C and anxious_over_calm on the development set (``all``), the empathy threshold
    out of fold (``all`` or ``empathy``) and the crisis threshold on the tuning set (``all`` or
    ``crisis``), and write data/emotion/settings.yml."""
    texts, labels = training_set()
    x = features(texts)
    chosen = chosen_settings()
    dev_texts, dev_labels = labelled(DEV_FILE)
    dev_x = features(dev_texts)
    if what == "all":
        chosen.update(choose_settings(x, labels, dev_x, dev_labels))
    if what in ("all", "empathy"):
        chosen.update(choose_empathy_threshold(np.vstack([x, dev_x]), labels + dev_labels, chosen["C"]))
    if what in ("all", "crisis"):
        chosen.update(choose_crisis_threshold(_crisis_head(*_crisis_training(texts, labels, x))))
    header = ("# Chosen by `python -m bot.emotion.train --choose` (C, anxious_over_calm on data/emotion/dev.yml;\n"
              "# empathy_at out of fold on train + dev; crisis_at on crisis_tune.yml); a normal build\n"
              "# refits the heads with these and does not choose again (bot/emotion/train.py).\n"
              "# C=256 / 0.2 were chosen on 2026-11-23 on the AMD\n"
              "# machine of commit 40e1e4c; on an Intel Xeon (AVX-512) the near-tied choice is 64 / 0.3.\n")
    SETTINGS_FILE.write_text(header + yaml.safe_dump(chosen, sort_keys=False), encoding="utf-8")
    return chosen


def train(out: Path | None = None) -> dict:
    out = out or settings.emotion_model_path()
    started = time.perf_counter()
    texts, labels = training_set()
    dev_texts, dev_labels = labelled(DEV_FILE)
    chosen = chosen_settings()
    x = features(texts)
    head = _head(chosen["C"]).fit(np.vstack([x, features(dev_texts)]), labels + dev_labels)
    crisis_head = _crisis_head(*_crisis_training(texts, labels, x))
    model = {"head": head, "anxious_over_calm": chosen["anxious_over_calm"], "crisis_head": crisis_head,
             "crisis_at": chosen.get("crisis_at", 1.0), "empathy_at": chosen.get("empathy_at", 0.0)}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "wb") as handle:
        pickle.dump(model, handle)
    tmp.replace(out)
    counts = {label: labels.count(label) for label in sorted(set(labels))}
    return {"examples": counts, "dev_examples": len(dev_labels), "C": chosen["C"],
            "anxious_over_calm": chosen["anxious_over_calm"],
            "seconds": round(time.perf_counter() - started, 1), "path": str(out)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--choose", action="store_true",
                        help="choose every setting on the development sets and write data/emotion/settings.yml")
    parser.add_argument("--choose-crisis", action="store_true", help="choose the crisis threshold only")
    parser.add_argument("--choose-empathy", action="store_true", help="choose the empathy threshold only")
    args = parser.parse_args(argv)
    what = "all" if args.choose else "crisis" if args.choose_crisis else "empathy" if args.choose_empathy else None
    if what:
        print(f"settings chosen: {choose(what)}")
    print(f"emotion head trained: {train()}")


if __name__ == "__main__":
    main()
