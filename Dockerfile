# videobot: `docker build -t videobot .` then `docker run --env-file .env videobot`
# (or `docker compose up` with compose.yaml). Add `--build-arg EXTRAS=demo` for `videobot demo` / `sim`,
# which need PyAV; the bot itself does not.
FROM python:3.11-slim

ARG EXTRAS=""
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
RUN pip install ".${EXTRAS:+[$EXTRAS]}"

# Never as root. The SQLite default lives on a volume so a new image keeps the data.
RUN useradd --system --create-home --uid 10001 videobot \
    && mkdir -p /data && chown videobot /data
USER videobot
WORKDIR /data
VOLUME ["/data"]
ENV VIDEOBOT_DATABASE_URL=sqlite:////data/videobot.db \
    VIDEOBOT_HOST=0.0.0.0 \
    PORT=3000 \
    VIDEOBOT_HEALTH_PORT=9090
EXPOSE 3000 9090

# /healthz on PORT (HTTP mode) or VIDEOBOT_HEALTH_PORT (Socket Mode), whichever the settings pick.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "bot.healthcheck"]

# SIGTERM stops it within 10 s; jobs in flight resume on the next start.
STOPSIGNAL SIGTERM
ENTRYPOINT ["videobot"]
CMD ["run"]
