# Slim, non-root image for the amc CLI and its Celery workers (see docker-compose.yml).
# Build: docker build -t amc .     Run: docker run --rm -v $PWD:/data amc classify /data/papers.parquet -o /data/out.csv
# Workers: docker run amc worker; beat: docker run amc beat (state under /var/lib/amc).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY amc ./amc
COPY eval ./eval
COPY workers ./workers
COPY prompts ./prompts
RUN pip install --no-cache-dir --prefix=/install ".[postgres]"

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LITELLM_LOCAL_MODEL_COST_MAP=True \
    AMC_PROGRESS=false
COPY --from=build /install /usr/local
RUN useradd --create-home --uid 10001 amc \
    && mkdir -p /var/lib/amc && chown amc:amc /var/lib/amc
USER amc
WORKDIR /home/amc
ENTRYPOINT ["amc"]
CMD ["--help"]
