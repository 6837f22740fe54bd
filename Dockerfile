# Slim image for the amc CLI, its Celery workers and the web app (see docker-compose.yml).
# Build: docker build -t amc .
# Run:   docker run --rm -v "$PWD:/data" amc classify papers.parquet -o out.csv
#        (the working folder is /data; files amc writes there are owned by you)
# State (job store, LLM cache, spool, audit reports) is in AMC_HOME=/var/lib/amc: mount a
# volume there to keep it. The entrypoint runs amc as the owner of /data, never as root.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY amc ./amc
COPY eval ./eval
COPY workers ./workers
COPY prompts ./prompts
RUN pip install --no-cache-dir --prefix=/install ".[all]"

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LITELLM_LOCAL_MODEL_COST_MAP=True \
    AMC_PROGRESS=false \
    AMC_HOME=/var/lib/amc
COPY --from=build /install /usr/local
COPY scripts/docker-entrypoint.sh /usr/local/bin/amc-entrypoint
RUN useradd --create-home --uid 10001 amc \
    && mkdir -p /var/lib/amc /data \
    && chown amc:amc /var/lib/amc /data \
    && chmod 0755 /usr/local/bin/amc-entrypoint
WORKDIR /data
ENTRYPOINT ["amc-entrypoint"]
CMD ["--help"]
