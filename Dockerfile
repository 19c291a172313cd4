FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY guard ./guard
COPY schemas ./schemas
# prometheus-client (metrics and health) is a core dependency; the monitoring extra adds drift.
RUN pip install --no-cache-dir ".[monitoring,confluent]" \
    && useradd --system --uid 10001 guard \
    && mkdir -p /var/lib/guard && chown guard /var/lib/guard
USER guard
# Inside a container the metrics/health server must listen on all interfaces for Prometheus
# and the orchestrator to reach it (the default, 127.0.0.1, is for hosts).
ENV GUARD_METRICS__PORT=9400 \
    GUARD_METRICS__HOST=0.0.0.0 \
    GUARD_STATE_DIR=/var/lib/guard
EXPOSE 9400
# /healthz answers 503 when the loop has made no progress for metrics.stall_seconds.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('GUARD_METRICS__PORT', '9400') + '/healthz', timeout=4)"]
ENTRYPOINT ["guard"]
CMD ["run", "--config", "/etc/guard/guard.yaml"]
