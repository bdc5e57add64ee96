# inferwatch's worker image. CPU by default; the CUDA variant by build argument:
#
#   docker build -t inferwatch:cpu .
#   docker build --build-arg VARIANT=cuda -t inferwatch:cuda .
#
# The variants differ only in the torch wheel: PyPI's Linux torch is the CUDA build (it
# brings its CUDA libraries as nvidia-* wheels, so the host needs only the driver and the
# NVIDIA container toolkit); the CPU build comes from PyTorch's CPU index and is a tenth
# of the size (its local version, 2.13.0+cpu, wins over the same release on the default
# index). Everything else is the project's dependency list, read from pyproject.toml.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm
FROM ${PYTHON_IMAGE}

ARG VARIANT=cpu
ARG TORCH_CPU_INDEX=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONPATH=/opt/inferwatch \
    PATH=/opt/venv/bin:$PATH

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# dependencies first: a code change does not reinstall torch
COPY pyproject.toml /opt/inferwatch/
RUN case "$VARIANT" in \
      cpu) torch_index=(--extra-index-url "$TORCH_CPU_INDEX") ;; \
      cuda) torch_index=() ;; \
      *) echo "VARIANT must be cpu or cuda, got '$VARIANT'" >&2; exit 1 ;; \
    esac \
 && python -m venv /opt/venv \
 && python -c "import tomllib; print(*tomllib.load(open('/opt/inferwatch/pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > /tmp/all.txt \
 && grep '^torch==' /tmp/all.txt > /tmp/torch.txt \
 && grep -v '^torch==' /tmp/all.txt > /tmp/requirements.txt \
 && pip install "${torch_index[@]}" -r /tmp/torch.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/all.txt /tmp/torch.txt /tmp/requirements.txt

# the code runs from its tree, as in a checkout (the ClickHouse migrations are package data)
COPY streams /opt/inferwatch/streams
COPY detectors /opt/inferwatch/detectors
COPY inference /opt/inferwatch/inference
COPY retrain /opt/inferwatch/retrain
RUN printf '#!/bin/sh\nexec python -m streams.cli "$@"\n' > /usr/local/bin/inferwatch \
 && chmod 0755 /usr/local/bin/inferwatch \
 && useradd --system --uid 10001 --home-dir /var/lib/inferwatch --create-home inferwatch \
 && install -d -o inferwatch -g inferwatch /var/lib/inferwatch/models

# settings default to paths under the working directory (var/models, var/outbox, ...)
WORKDIR /var/lib/inferwatch
USER 10001
ENV INFERWATCH_WEB_HOST=0.0.0.0 \
    INFERWATCH_ALERTING_METRICS_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['INFERWATCH_ALERTING_METRICS_PORT'] + '/livez', timeout=4)"]
ENTRYPOINT ["inferwatch"]
CMD ["worker", "--roles", "inference,monitor,join,decide,sink"]
