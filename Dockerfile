# lmmviz: the Streamlit app in one container. See docs/deploy.md.
# Pinned Debian (bookworm) base; Python 3.11, the version the requirements are tested on.
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false

# An unprivileged user owns nothing but its home; the app runs as this user.
RUN groupadd --system --gid 10001 lmmviz \
    && useradd --system --uid 10001 --gid lmmviz --create-home --home-dir /home/lmmviz lmmviz

WORKDIR /app

# Requirements first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

# Then the code, and the package itself (no dependencies: they are installed above).
COPY pyproject.toml README.md app.py ./
COPY .streamlit ./.streamlit
COPY lmmviz ./lmmviz
RUN pip install --no-cache-dir --no-deps .

USER lmmviz

EXPOSE 8501

# Streamlit's own health endpoint answers "ok" once the server accepts sessions.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).read().strip() == b'ok' else 1)"]

CMD ["streamlit", "run", "app.py", "--server.port", "8501", "--server.address", "0.0.0.0", "--server.headless", "true", "--server.fileWatcherType", "none"]
