# Slim, non-root image for the amc CLI (and, later, its workers).
# Build: docker build -t amc .     Run: docker run --rm -v $PWD:/data amc classify /data/papers.parquet -o /data/out.csv
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
COPY prompts /app/prompts
RUN useradd --create-home --uid 10001 amc
USER amc
WORKDIR /home/amc
ENTRYPOINT ["amc"]
CMD ["--help"]
