# The agent copilot (bot/copilot/service.py): intent, emotion, the bot's own checked reply,
# knowledge snippets and compliance alerts for call-centre agents. Same base and environment as
# the action server: it needs the emotion head and the knowledge base in-process.
#
# Build from the repository root, with deploy/docker/dockerignore copied to .dockerignore:
#   docker build -f deploy/docker/copilot.Dockerfile -t anxin-copilot:dev .
# The layers up to the CMD are those of actions.Dockerfile, so Docker's cache shares them.
# At run time it needs ANXIN_API_TOKEN (Rasa's HTTP API and the copilot channel) and ANXIN_RASA_URL
# from the environment; agents have their own keys (python -m bot.copilot.agents add ...).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/home/anxin \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    SANIC_HOST=0.0.0.0 \
    OMP_WAIT_POLICY=PASSIVE \
    ANXIN_STATE_DIR=/var/lib/anxin

# tzdata: ZoneInfo(ANXIN_TIMEZONE) needs the zone database (daily transfer limits).
RUN apt-get update && apt-get install -y --no-install-recommends tzdata && rm -rf /var/lib/apt/lists/*

RUN groupadd --gid 10001 anxin \
    && useradd --uid 10001 --gid 10001 --create-home --home-dir /home/anxin --shell /usr/sbin/nologin anxin \
    && install -d -o 10001 -g 10001 /var/lib/anxin

WORKDIR /app

COPY requirements.txt ./
RUN python -m pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
    && python -m pip install -r requirements.txt \
    && python -m pip install psycopg2-binary==2.9.13

COPY bot/ bot/
COPY actions/ actions/
COPY knowledge/ knowledge/
COPY data/ data/

RUN python -m bot.knowledge.index \
    && python -m bot.emotion.train

USER 10001:10001
EXPOSE 5077

HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import json, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:5077/health', timeout=4); assert json.load(r).get('status') == 'ok'"]

CMD ["python", "-m", "bot.copilot.service", "--port", "5077"]
