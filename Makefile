# Anxin: two commands.
#   make run   - set up everything that is missing, then run the bot (Ctrl-C stops it)
#   make test  - set up everything that is missing, then run every test
#   make cluster - the replicated topology on 127.0.0.1: PostgreSQL, Redis, REPLICAS Rasa
#                  replicas (default 2) behind HAProxy, action servers, copilot (Ctrl-C stops it)
# Set-up is incremental: virtual environments are rebuilt only when their requirements
# change, the Rasa model only when config.yml, domain.yml or data/ change.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PY311 ?= $(shell command -v python3.11 || command -v python3)
PY310 ?= $(shell p=$$(pyenv root 2>/dev/null)/versions/3.10.13/bin/python; [ -x "$$p" ] && echo $$p || command -v python3.10)
RASA_ENV := .venv-rasa
ACTIONS_ENV := .venv-actions
MODEL := models/anxin.tar.gz
# Rasa reads data/nlu, data/stories, data/rules (and jieba's dictionary); data/emotion and data/scam
# train the action server's own heads and do not retrain the Rasa model.
TRAINING_INPUTS := config.yml domain.yml $(shell find data -type f -not -path 'data/emotion/*' -not -path 'data/scam/*' 2>/dev/null)
KB_INDEX := models/knowledge/manifest.json
EMOTION_MODEL := models/emotion/head.pkl
ENCODER_CODE := bot/knowledge/encoders.py
EMOTION_INPUTS := data/emotion/train.yml data/emotion/dev.yml data/emotion/settings.yml data/emotion/crisis_train.yml data/emotion/crisis_dev.yml bot/emotion/cues.yml bot/emotion/classifier.py bot/emotion/train.py \
  $(ENCODER_CODE) $(wildcard data/nlu/*.yml)
KNOWLEDGE_SOURCES := $(shell find knowledge -name '*.yml' ! -name retrieval.yml ! -name calibration.yml 2>/dev/null) \
  bot/knowledge/sources.py bot/knowledge/index.py $(ENCODER_CODE)

export PYTHONPATH := $(CURDIR)
export RASA_TELEMETRY_ENABLED := false
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANXIN_ACTION_URL ?= http://127.0.0.1:5055/webhook

CHROMEDRIVER := /usr/bin/chromedriver
# PostgreSQL's server binaries for the migration tests' throwaway cluster (tests/unit/test_migrations.py).
PG_CTL := $(firstword $(wildcard /usr/lib/postgresql/*/bin/pg_ctl) /usr/lib/postgresql/15/bin/pg_ctl)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The local replicated topology (make cluster, tests/cluster) runs Debian's HAProxy and Redis.
HAPROXY := /usr/sbin/haproxy
REDIS_SERVER := /usr/bin/redis-server
REPLICAS ?= 2

.PHONY: setup run test lint unit-tests rasa-side-tests story-tests e2e-tests bench audit clean

setup: $(RASA_ENV)/.installed $(ACTIONS_ENV)/.installed $(MODEL) $(KB_INDEX) $(EMOTION_MODEL)

$(RASA_ENV)/.installed: requirements-rasa.txt
	@test -n "$(PY310)" || { echo "Python 3.10 not found (set PY310=/path/to/python3.10)"; exit 1; }
	test -x $(RASA_ENV)/bin/python || $(PY310) -m venv $(RASA_ENV)
	$(RASA_ENV)/bin/python -m pip install -q --disable-pip-version-check "pip<25"
	$(RASA_ENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements-rasa.txt
	# Rate limits (bot/ratelimit.py): limits declares packaging>=21, Rasa pins packaging<21, and
	# limits uses only packaging.version.Version, which 20.9 has; installed without its deps.
	$(RASA_ENV)/bin/python -m pip install -q --disable-pip-version-check --no-deps limits==5.6.0 Deprecated==1.3.1
	touch $@

$(ACTIONS_ENV)/.installed: requirements.txt
	test -x $(ACTIONS_ENV)/bin/python || $(PY311) -m venv $(ACTIONS_ENV)
	$(ACTIONS_ENV)/bin/python -m pip install -q --disable-pip-version-check torch==2.13.0
	$(ACTIONS_ENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(MODEL): $(RASA_ENV)/.installed $(TRAINING_INPUTS)
	$(RASA_ENV)/bin/rasa data validate
	$(RASA_ENV)/bin/rasa train --fixed-model-name anxin --out models
	touch $@

# Knowledge-base FAISS index: re-embeds only passages whose text changed (embedding cache).
$(KB_INDEX): $(ACTIONS_ENV)/.installed $(KNOWLEDGE_SOURCES)
	$(ACTIONS_ENV)/bin/python -m bot.knowledge.index

# Emotion head (logistic regression over e5 embeddings + cue counts), trained here.
$(EMOTION_MODEL): $(ACTIONS_ENV)/.installed $(EMOTION_INPUTS)
	$(ACTIONS_ENV)/bin/python -m bot.emotion.train

# Browser tests drive Debian's chromium + chromium-driver (Playwright's browser download does not
# work here); CJK fonts make the screenshots in results/screenshots readable.
$(CHROMEDRIVER):
	$(SUDO) apt-get install -y -q chromium chromium-driver fonts-noto-cjk || \
	  { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium chromium-driver fonts-noto-cjk; }

# The migration tests start their own PostgreSQL cluster (initdb into a temporary folder, port
# 55432) from Debian's postgresql package; the package's own cluster is not used.
.PHONY: postgresql
postgresql: $(PG_CTL)
$(PG_CTL):
	$(SUDO) apt-get install -y -q postgresql || \
	  { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q postgresql; }

# make cluster and the cluster tests run Debian's HAProxy and Redis as child processes on 127.0.0.1
# (the packages' own services are not used).
.PHONY: haproxy redis
haproxy: $(HAPROXY)
$(HAPROXY):
	$(SUDO) apt-get install -y -q haproxy || \
	  { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q haproxy; }
redis: $(REDIS_SERVER)
$(REDIS_SERVER):
	$(SUDO) apt-get install -y -q redis-server || \
	  { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q redis-server; }

# make run is the demo: demo customers and the demo sign-in exist (ANXIN_DEMO_MODE=0 turns it off).
run: setup
	ANXIN_DEMO_MODE=$${ANXIN_DEMO_MODE:-1} $(ACTIONS_ENV)/bin/python -m bot.servers

# The replicated topology (bot/cluster.py): state in .state/cluster, HAProxy on :5600. Demo mode
# as in make run.
.PHONY: cluster cluster-tests
cluster: setup $(PG_CTL) $(HAPROXY) $(REDIS_SERVER)
	ANXIN_DEMO_MODE=$${ANXIN_DEMO_MODE:-1} $(ACTIONS_ENV)/bin/python -m bot.cluster --replicas $(REPLICAS)

# Starts its own cluster (temporary state folder, the same ports) and stops it at the end.
cluster-tests: setup $(PG_CTL) $(HAPROXY) $(REDIS_SERVER)
	$(ACTIONS_ENV)/bin/python -m pytest -q -p no:cacheprovider tests/cluster

lint: $(ACTIONS_ENV)/.installed
	$(ACTIONS_ENV)/bin/ruff check bot actions tests bench

unit-tests: $(ACTIONS_ENV)/.installed $(KB_INDEX) $(EMOTION_MODEL)
	$(ACTIONS_ENV)/bin/python -m pytest -q tests/unit tests/actions
unit-tests: $(PG_CTL)

rasa-side-tests: $(RASA_ENV)/.installed $(MODEL)
	$(RASA_ENV)/bin/python -m pytest -q -p no:cacheprovider tests/rasa_server

story-tests: $(MODEL)
	$(RASA_ENV)/bin/rasa test core --e2e --model $(MODEL) --stories tests/test_stories \
	  --fail-on-prediction-errors --out results/stories

# pdftoppm (poppler-utils) rasterises the allocation report's PDF in the browser tests.
PDFTOPPM := /usr/bin/pdftoppm
$(PDFTOPPM):
	$(SUDO) apt-get install -y -q poppler-utils || \
	  { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q poppler-utils; }

e2e-tests: setup $(CHROMEDRIVER) $(PDFTOPPM)
	$(ACTIONS_ENV)/bin/python -m pytest -q tests/e2e

# Two phases. First the Rasa model trains (Python 3.10) beside the Python 3.11 side's set-up,
# lint and unit tests, two jobs at a time on two cores (output grouped per step); then the suites
# that need the model run one after another.
test:
	$(MAKE) --no-print-directory -j2 -Otarget $(MODEL) lint unit-tests
	$(MAKE) --no-print-directory setup rasa-side-tests story-tests e2e-tests cluster-tests
	@echo "All test suites passed."

bench: setup
	$(ACTIONS_ENV)/bin/python -m bench.nlu_accuracy
	$(ACTIONS_ENV)/bin/python -m bench.kb_retrieval
	$(ACTIONS_ENV)/bin/python -m bench.emotion_accuracy
	$(ACTIONS_ENV)/bin/python -m bench.crisis_detection
	$(ACTIONS_ENV)/bin/python -m bench.rest_latency
	$(ACTIONS_ENV)/bin/python -m bench.wechat_latency
	$(ACTIONS_ENV)/bin/python -m bench.security_probe
	$(ACTIONS_ENV)/bin/python -m bench.compliance_simulation
	$(ACTIONS_ENV)/bin/python -m bench.empathy
	$(ACTIONS_ENV)/bin/python -m bench.hard_conversations
	$(ACTIONS_ENV)/bin/python -m bench.load

audit: $(ACTIONS_ENV)/.installed
	@test -n "$(CUSTOMER)" || { echo "usage: make audit CUSTOMER=<customer id>"; exit 1; }
	$(ACTIONS_ENV)/bin/python -m bot.compliance.audit_cli history "$(CUSTOMER)"

clean:
	rm -rf models .rasa results .state
