# Keepwise for a team: `docker build -t keepwise . && docker run -p 8501:8501 -v keepwise-data:/data keepwise`
# Shared links live in /data (a volume), so they survive a new image. Sign-in: mount a secrets file with
# an [auth] section at /app/.streamlit/secrets.toml (see README.md, "Optional sign-in"); without it the app is open.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    KEEPWISE_DATA_DIR=/data

WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# An unprivileged user that owns only the share folder; the code stays read-only to it.
RUN useradd --create-home --uid 10001 keepwise \
    && mkdir -p /data \
    && chown keepwise:keepwise /data
USER keepwise

VOLUME ["/data"]
EXPOSE 8501

# python instead of curl: the slim image has no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://localhost:8501/_stcore/health', timeout=4).read() != b'ok')"]

CMD ["streamlit", "run", "app.py", "--server.port=8501", "--server.address=0.0.0.0"]
