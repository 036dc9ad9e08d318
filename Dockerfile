# tabcomplete completion server.
#   docker build -t tabcomplete .
#   docker run --rm -p 127.0.0.1:8000:8000 tabcomplete       # then open http://127.0.0.1:8000/
# Models: the image serves model/pretrained/ (one dir per language); mount others with
#   -v /path/to/models:/models:ro -e TABCOMPLETE_MODELS=/models
# Token: -e TABCOMPLETE_TOKEN=...  Workers: -e TABCOMPLETE_WORKERS=4
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=3 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/tabcomplete-metrics \
    NUMBA_CACHE_DIR=/tmp/numba-cache \
    PYTHONPATH=/app

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin tabcomplete

WORKDIR /app
# Dependencies first, so code changes do not reinstall them. Serving needs no TensorFlow.
COPY server/requirements.txt server/requirements.txt
RUN pip install -r server/requirements.txt

# Only what serving imports (model.text, model.serving) and the shipped models: training, data,
# measurement and the tools that test a server (servercheck/) stay out of the image.
COPY model/__init__.py model/
COPY model/text/ model/text/
COPY model/serving/ model/serving/
COPY model/pretrained/ model/pretrained/
COPY server/ server/
# The playground page runs the plug-ins' client (GET /client.js serves it from here); its
# limits.json is also the server's one source of the request limits (model/serving/limits.py).
COPY editor-plugin/shared/ editor-plugin/shared/

USER tabcomplete
EXPOSE 8000

# python:3.11-slim has no curl: ask /health with the standard library.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status != 200)"]

# 0.0.0.0, not the default 127.0.0.1: inside the container, loopback is the container's own,
# unreachable from outside it; the published port (-p) decides who can reach the server.
CMD ["gunicorn", "-c", "server/gunicorn.conf.py", "--bind", "0.0.0.0:8000"]
