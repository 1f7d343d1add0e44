# The Rasa server: NLU, dialogue policies, channels (REST, socket.io, WeChat) and the compliance
# guard on every outgoing message. Python 3.10: Rasa 3.6.21 declares Python < 3.11.
#
# Build from the repository root, with deploy/docker/dockerignore copied to .dockerignore:
#   docker build -f deploy/docker/rasa.Dockerfile -t anxin-rasa:dev .
# Nothing is trained here or at run time. The trained model models/anxin.tar.gz (made by
# `make setup`) is baked in when it is in the build context; otherwise mount it read-only at
# /app/models/anxin.tar.gz. Secrets (ANXIN_API_TOKEN, WECHAT_*) come from the environment at run
# time, never from this file.
FROM python:3.10-slim

# credentials.yml expands ANXIN_APP_JWT_* and WECHAT_*: they must exist; empty = that channel
# answers 503 until the deployment sets them.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RASA_TELEMETRY_ENABLED=false \
    HOME=/home/anxin \
    ANXIN_STATE_DIR=/var/lib/anxin \
    ANXIN_ACTION_URL=http://127.0.0.1:5055/webhook \
    WECHAT_API_BASE=https://api.weixin.qq.com \
    ANXIN_APP_JWT_SECRET="" \
    ANXIN_APP_JWT_PUBLIC_KEY="" \
    WECHAT_TOKEN="" \
    WECHAT_APP_ID="" \
    WECHAT_APP_SECRET="" \
    WECHAT_ENCODING_AES_KEY=""

# tzdata: ZoneInfo(ANXIN_TIMEZONE) needs the zone database.
RUN apt-get update && apt-get install -y --no-install-recommends tzdata && rm -rf /var/lib/apt/lists/*

# A fixed numeric non-root user, so Kubernetes' runAsNonRoot can verify it.
RUN groupadd --gid 10001 anxin \
    && useradd --uid 10001 --gid 10001 --create-home --home-dir /home/anxin --shell /usr/sbin/nologin anxin \
    && install -d -o 10001 -g 10001 /var/lib/anxin

WORKDIR /app

# One pip command for the whole file (see requirements-rasa.txt: a later install would upgrade
# `packaging` past Rasa's pin); pip < 25 as in the Makefile.
COPY requirements-rasa.txt ./
RUN python -m pip install "pip<25" \
    && python -m pip install -r requirements-rasa.txt

# The project: code owned by root and read-only for the server's user. models/anxin.tar.gz is
# included when present (the dockerignore keeps it and drops everything else under models/).
COPY . .

USER 10001:10001
EXPOSE 5005

# GET / answers "Hello from Rasa" without a token, once the model is loaded (the port opens
# after the model is loaded).
HEALTHCHECK --interval=15s --timeout=5s --start-period=180s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5005/', timeout=4)"]

# The API token is read from ANXIN_API_TOKEN (or the file ANXIN_API_TOKEN_FILE names), never
# passed as --auth-token, where `ps` would show it; without one the server refuses to start.
CMD ["python", "-m", "bot.rasa_ext.server", "run", "--enable-api", "--interface", "0.0.0.0", "--port", "5005", "--model", "models/anxin.tar.gz", "--endpoints", "endpoints.yml", "--credentials", "credentials.yml"]
