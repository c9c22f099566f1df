"""The deployment files (Dockerfile, .dockerignore, compose.yaml, deploy/nginx.conf), checked
as files: nothing is built or pulled here (no network). Rules in hadolint's spirit for the
Dockerfile, and the three files must agree on the port, the health path and the proxying.

compose.yaml is read by a small parser of the YAML subset it is written in (block mappings,
block lists of scalars, flow lists in JSON syntax); the parser refuses any line it does not
understand, so the file cannot drift into YAML the test does not read.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PORT = 8501
HEALTH = "/_stcore/health"


# --------------------------------------------------------------------------- readers


def dockerfile(text: str | None = None) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text() if text is None else text
    joined, out = "", []
    for line in text.splitlines():
        if not joined and (not line.strip() or line.lstrip().startswith("#")):
            continue
        joined += line.rstrip().removesuffix("\\") + " "
        if not line.rstrip().endswith("\\"):
            word, _, rest = joined.strip().partition(" ")
            out.append((word.upper(), " ".join(rest.split())))
            joined = ""
    assert not joined, "the Dockerfile ends inside a continued line"
    return out


def _scalar(v: str):
    v = v.strip()
    assert v and v[0] not in "{|>&*!", f"unsupported YAML value: {v!r}"
    if v.startswith("["):
        return json.loads(v)
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        return v[1:-1]
    return v


def yaml_subset(text: str):
    """Block mappings and lists of the simple YAML compose.yaml is written in."""
    lines = [(len(l) - len(l.lstrip(" ")), l.strip()) for l in text.splitlines()
             if l.strip() and not l.lstrip().startswith("#")]
    pos = 0

    def block(indent: int):
        nonlocal pos
        is_list = lines[pos][1].startswith("- ")
        out = [] if is_list else {}
        while pos < len(lines) and lines[pos][0] == indent:
            _, s = lines[pos]
            pos += 1
            if is_list:
                assert s.startswith("- ") and not re.match(r"- [\w.-]+:(\s|$)", s), f"unsupported list item: {s!r}"
                out.append(_scalar(s[2:]))
                continue
            m = re.fullmatch(r"([A-Za-z_][\w.-]*):(?:\s+(.*))?", s)
            assert m, f"unsupported YAML line: {s!r}"
            key, value = m.groups()
            if value is None:
                assert pos < len(lines) and lines[pos][0] > indent, f"empty block under {key!r}"
                out[key] = block(lines[pos][0])
            else:
                out[key] = _scalar(value)
        assert pos == len(lines) or lines[pos][0] < indent, f"bad indentation at {lines[pos][1]!r}"
        return out

    doc = block(0)
    assert pos == len(lines)
    return doc


def nginx(text: str | None = None) -> str:
    text = (ROOT / "deploy" / "nginx.conf").read_text() if text is None else text
    return "\n".join(l.split("#", 1)[0] for l in text.splitlines())


def nginx_block(conf: str, head: str) -> str:
    """The text between the braces of the first block that starts with ``head``."""
    start = re.search(re.escape(head) + r"\s*\{", conf)
    assert start, f"no `{head} {{ … }}` block"
    depth, i = 1, start.end()
    while depth:
        depth += {"{": 1, "}": -1}.get(conf[i], 0)
        i += 1
    return conf[start.end():i - 1]


def compose() -> dict:
    return yaml_subset((ROOT / "compose.yaml").read_text())


# --------------------------------------------------------------------------- Dockerfile


def dockerfile_problems(instr: list[tuple[str, str]]) -> list[str]:
    """hadolint-style rules; returns what is wrong, in words."""
    problems = []
    words = [w for w, _ in instr]
    froms = [a for w, a in instr if w == "FROM"]
    if len(froms) != 1:
        return [f"expected one FROM, got {len(froms)}"]
    image = froms[0].split()[0]
    name, _, tag = image.partition(":")
    if not tag or tag == "latest" or not re.search(r"\d+\.\d+", tag):
        problems.append(f"base image not pinned to a version: {image}")
    if "bookworm" not in tag and "bullseye" not in tag and not name.startswith("debian"):
        problems.append(f"base image is not Debian: {image}")
    if any("latest" in a for w, a in instr if w == "FROM"):
        problems.append("`latest` in FROM")
    users = [a for w, a in instr if w == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        problems.append("the last USER is missing or root")
    elif words.index("USER") < max(i for i, w in enumerate(words) if w in ("RUN", "COPY")):
        problems.append("USER comes before the last RUN/COPY: the app should run as the user, built as root")
    for w, a in instr:
        if w == "RUN" and re.search(r"\bpip3? install\b", a) and "--no-cache-dir" not in a:
            problems.append(f"pip install without --no-cache-dir: {a}")
        if w == "ADD":
            problems.append(f"ADD where COPY would do: {a}")
        if w == "RUN" and re.search(r"\bcd\b", a):
            problems.append(f"cd in RUN (use WORKDIR): {a}")
    copies = [(i, a) for i, (w, a) in enumerate(instr) if w == "COPY"]
    req = [i for i, a in copies if "requirements.txt" in a.split()[:-1]]
    code = [i for i, a in copies if re.search(r"(^| )(\.|lmmviz|app\.py)( |$)", a.rsplit(" ", 1)[0])]
    pip_r = [i for i, (w, a) in enumerate(instr) if w == "RUN" and "-r requirements.txt" in a]
    if not (req and code and pip_r and req[0] < pip_r[0] < min(code)):
        problems.append("requirements.txt must be copied and installed before the code (layer caching)")
    health = [a for w, a in instr if w == "HEALTHCHECK"]
    if not health or HEALTH not in health[0] or f":{PORT}" not in health[0]:
        problems.append(f"no HEALTHCHECK on 127.0.0.1:{PORT}{HEALTH}")
    exposed = [a for w, a in instr if w == "EXPOSE"]
    if exposed != [str(PORT)]:
        problems.append(f"EXPOSE {exposed}, expected [{PORT}]")
    cmd = [a for w, a in instr if w == "CMD"]
    args = json.loads(cmd[-1]) if cmd and cmd[-1].startswith("[") else []
    want = ["streamlit", "run", "app.py"]
    if args[:3] != want or _flag(args, "--server.port") != str(PORT) or _flag(args, "--server.address") != "0.0.0.0":
        problems.append(f"CMD is not `streamlit run app.py --server.port {PORT} --server.address 0.0.0.0` "
                        f"in exec form: {cmd}")
    return problems


def _flag(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args and args.index(name) + 1 < len(args) else None


def test_the_dockerfile_follows_the_rules():
    assert dockerfile_problems(dockerfile()) == []


BAD = {
    "latest": ("FROM python:3.11.11-slim-bookworm", "FROM python:latest"),
    "unpinned": ("FROM python:3.11.11-slim-bookworm", "FROM python"),
    "root": ("USER lmmviz", "USER root"),
    "pip cache": ("pip install --no-cache-dir -r requirements.txt", "pip install -r requirements.txt"),
    "health path": (HEALTH, "/healthz"),
    "port": ("EXPOSE 8501", "EXPOSE 8080"),
    "address": ('"0.0.0.0"', '"127.0.0.1"'),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_the_rules_catch_a_broken_dockerfile(case):
    old, new = BAD[case]
    text = (ROOT / "Dockerfile").read_text()
    assert old in text, case
    assert dockerfile_problems(dockerfile(text.replace(old, new))) != [], case


def test_the_rules_catch_code_copied_before_the_requirements():
    instr = dockerfile()
    i = next(i for i, (w, a) in enumerate(instr) if w == "COPY" and "lmmviz" in a)
    moved = instr[:1] + [instr[i]] + [x for j, x in enumerate(instr) if j not in (0, i)]
    assert any("layer caching" in p for p in dockerfile_problems(moved))


def test_the_image_holds_what_the_app_needs_and_dockerignore_keeps_the_rest_out():
    copied = " ".join(a for w, a in dockerfile() if w == "COPY")
    for needed in ("requirements.txt", "pyproject.toml", "app.py", ".streamlit", "lmmviz"):
        assert needed in copied.split(), needed
    ignored = {l.strip() for l in (ROOT / ".dockerignore").read_text().splitlines()
               if l.strip() and not l.startswith("#")}
    assert {".git", "tests", "benchmarks", "**/__pycache__"} <= ignored
    assert not ignored & {"lmmviz", "app.py", "requirements.txt", ".streamlit", "pyproject.toml", "README.md"}


# --------------------------------------------------------------------------- compose


def test_the_yaml_reader_refuses_what_it_does_not_read():
    assert yaml_subset("a:\n  b: 1\n  c:\n    - x\n    - \"y\"\n") == {"a": {"b": "1", "c": ["x", "y"]}}
    for bad in ("a: {b: 1}\n", "a:\n  - b: 1\n", "a:\n    b: 1\n  c: 2\n", "a: |\n  text\n"):
        with pytest.raises(AssertionError):
            yaml_subset(bad)


def test_compose_runs_replicas_with_a_health_check_behind_the_proxy():
    services = compose()["services"]
    app, proxy = services["app"], services["proxy"]
    assert app["build"]["context"] == "."
    replicas = re.fullmatch(r"\$\{LMMVIZ_REPLICAS:-(\d+)\}|(\d+)", app["deploy"]["replicas"])
    assert replicas and int(replicas.group(1) or replicas.group(2)) >= 2
    assert app["expose"] == [str(PORT)] and "ports" not in app  # only the proxy is published
    test = app["healthcheck"]["test"]
    assert test[0] == "CMD" and any(f"127.0.0.1:{PORT}{HEALTH}" in part for part in test)
    # the proxy: a pinned image, its config mounted where nginx reads it, started after healthy apps
    image = proxy["image"]
    assert re.fullmatch(r"nginx:\d+\.\d+\.\d+[\w.-]*", image), image
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in proxy["volumes"]
    assert proxy["depends_on"]["app"]["condition"] == "service_healthy"
    assert len(proxy["ports"]) == 1 and proxy["ports"][0].endswith(":80")


def check_proxy(conf: str) -> None:
    """Raises AssertionError, saying what is missing, unless the nginx config is sticky,
    websocket-aware, long-lived and points at the compose service."""
    upstream = nginx_block(conf, "upstream lmmviz")
    assert re.search(rf"server\s+app:{PORT}\b", upstream), "upstream is not the compose service app:8501"
    sticky = re.search(r"hash\s+\$(\w+)\s+consistent;", upstream) or re.search(r"^\s*ip_hash;", upstream, re.M)
    assert sticky, "no sticky balancing (hash … consistent or ip_hash) in the upstream"
    if sticky.re.pattern.startswith("hash"):
        # the hashed key comes from a cookie that the proxy also sets
        key = sticky.group(1)
        m = re.search(r"map\s+\$cookie_(\w+)\s+\$" + key + r"\s*\{", conf)
        assert m, f"${key} is not mapped from a cookie"
        assert re.search(rf'Set-Cookie\s+"{m.group(1)}=\${key};', conf), "the route cookie is never set"
    location = nginx_block(conf, "location /")
    assert "proxy_pass http://lmmviz;" in location
    assert re.search(r"proxy_http_version\s+1\.1;", location)
    assert re.search(r"proxy_set_header\s+Upgrade\s+\$http_upgrade;", location)
    conn = re.search(r"proxy_set_header\s+Connection\s+\$(\w+);", location)
    assert conn and re.search(r"map\s+\$http_upgrade\s+\$" + conn.group(1) + r"\s*\{[^}]*\bupgrade;", conf)
    timeout = re.search(r"proxy_read_timeout\s+(\d+)s?;", location)
    assert timeout and int(timeout.group(1)) >= 3600, "websockets would be cut after nginx's default 60 s"
    body = re.search(r"client_max_body_size\s+(\d+)m;", conf)
    upload = re.search(r"maxUploadSize\s*=\s*(\d+)", (ROOT / ".streamlit" / "config.toml").read_text())
    assert body and upload and int(body.group(1)) >= int(upload.group(1)), "uploads larger than the proxy takes"


def test_the_proxy_config_is_sticky_websocket_aware_and_points_at_the_app():
    check_proxy(nginx())


def test_the_proxy_caches_streamlits_static_files():
    conf = nginx()
    zone = re.search(r"proxy_cache_path\s+\S+.*?keys_zone=(\w+):", conf, re.S)
    static = nginx_block(conf, "location /static/")
    assert zone and re.search(rf"proxy_cache\s+{zone.group(1)};", static)
    assert "proxy_pass http://lmmviz;" in static
    assert re.search(r"gzip_types[^;]*application/javascript", conf)


PROXY_BREAKS = ("proxy_set_header Upgrade $http_upgrade;", "hash $lmmviz_route consistent;",
                "proxy_read_timeout 86400s;", "server app:8501 resolve;", "client_max_body_size 200m;",
                'add_header Set-Cookie "lmmviz_route=$lmmviz_route; Path=/; HttpOnly; SameSite=Lax" always;')


@pytest.mark.parametrize("line", PROXY_BREAKS)
def test_the_proxy_checks_catch_a_config_without_it(line):
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert line in conf
    with pytest.raises(AssertionError):
        check_proxy(nginx(conf.replace(line, "")))


def test_the_ports_agree_across_the_files():
    cmd = json.loads([a for w, a in dockerfile() if w == "CMD"][-1])
    assert _flag(cmd, "--server.port") == str(PORT)
    assert compose()["services"]["app"]["expose"] == [str(PORT)]
    assert f"app:{PORT}" in nginx()
    assert re.search(r"listen\s+80;", nginx())
    docs = (ROOT / "docs" / "deploy.md").read_text()
    assert str(PORT) in docs and HEALTH in docs and "8080" in docs


def test_the_docs_say_how_to_run_it_and_what_one_server_holds():
    docs = (ROOT / "docs" / "deploy.md").read_text()
    assert "docker compose up" in docs
    assert "benchmarks/README.md" in docs or "benchmarks.load" in docs
    assert "URL" in docs and "sticky" in docs.lower()
