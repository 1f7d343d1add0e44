# The action server (rasa-sdk + the model-loading start hook in bot/action_server.py): accounts,
# transfers, risk assessment, suitability gate, knowledge base, emotion sensing. Python 3.11.
#
# Build from the repository root, with deploy/docker/dockerignore copied to .dockerignore:
#   docker build -f deploy/docker/actions.Dockerfile -t anxin-actions:dev .
# The knowledge-base FAISS index and the emotion head are built here, in the image, from the
# reviewed sources: nothing is downloaded or trained at run time (HF_HUB_OFFLINE=1).
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

# torch first, the CPU build from the PyTorch CPU index, so nothing pulls a CUDA build; then the
# pinned requirements (torch==2.13.0 is then already satisfied). psycopg2-binary is the
# PostgreSQL driver for ANXIN_*_DB_URL=postgresql://... (requirements.txt does not list one yet).
COPY requirements.txt ./
RUN python -m pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
    && python -m pip install -r requirements.txt \
    && python -m pip install psycopg2-binary==2.9.13

COPY bot/ bot/
COPY actions/ actions/
COPY knowledge/ knowledge/
COPY data/ data/
# rasa-sdk reads endpoints.yml (for a tracing section it does not have); without it it logs an error.
COPY endpoints.yml ./

# Knowledge-base index (models/knowledge/) and emotion head (models/emotion/head.pkl).
RUN python -m bot.knowledge.index \
    && python -m bot.emotion.train

USER 10001:10001
EXPOSE 5055

# /health answers {"status": "ok"} only once the encoder, the index and the emotion head are loaded.
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import json, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:5055/health', timeout=4); assert json.load(r).get('status') == 'ok'"]

CMD ["python", "-m", "bot.action_server", "--actions", "actions", "--port", "5055"]
