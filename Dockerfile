FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY guard ./guard
COPY schemas ./schemas
RUN pip install --no-cache-dir ".[monitoring,confluent]" && useradd --system --uid 10001 guard
USER guard
ENTRYPOINT ["guard"]
CMD ["run", "--config", "/etc/guard/guard.yaml"]
