"""A wheel install works outside the repository: templates, static files and the example
settings travel inside the package.

Builds the wheel from this checkout, installs it into a fresh virtual environment, and from
an empty folder elsewhere runs ``publisher preview`` and ``publisher serve`` with one notice
submitted and posted to every default account (the sandbox channels served by ``serve``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.procs import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
WARNING = {
    "kind": "weather_warning",
    "title": "暴雨橙色预警",
    "body": "预计未来3小时内本市将出现50毫米以上降雨，请注意防范。",
    "fields": {"signal": "暴雨", "color": "橙色", "issuer": "市气象台", "area": ["全市"]},
}


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PUBLISHER_", "PYTHON"))}
    env["HOME"] = str(home)
    env.pop("VIRTUAL_ENV", None)
    return env


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"$ {' '.join(args)} -> {done.returncode}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(the fresh venv's bin folder, an empty working folder outside the repository)."""
    base = tmp_path_factory.mktemp("wheel")
    env = clean_env(base)
    dist = base / "dist"
    run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT)],
        base,
        env,
    )
    wheels = list(dist.glob("publisher-*.whl"))
    assert len(wheels) == 1
    names = zipfile.ZipFile(wheels[0]).namelist()
    assert "publisher/templates/weibo/weather_warning/text.txt" in names or any(
        n.startswith("publisher/templates/weibo/") for n in names
    )
    assert "publisher/config/publisher.example.toml" in names
    assert "publisher/config/checks/names-country.txt" in names
    assert "publisher/config/schedules.example.toml" in names
    assert "publisher/config/schedules/approvals.example.json" in names
    assert "channels/portal/static/portal.css" in names
    assert "publisher/console/static/console.css" in names
    assert "publisher/console/static/console.js" in names
    assert "publisher/templates/console/base.html" in names
    venv = base / "venv"
    run([sys.executable, "-m", "venv", str(venv)], base, env)
    run([str(venv / "bin" / "pip"), "install", "-q", str(wheels[0])], base, env)
    work = base / "office"
    work.mkdir()
    (work / "warning.json").write_text(json.dumps(WARNING, ensure_ascii=False), "utf-8")
    yield venv / "bin", work


def test_preview_from_a_wheel_outside_the_repository(installed: tuple[Path, Path]) -> None:
    bin_dir, work = installed
    out = run(
        [str(bin_dir / "publisher"), "preview", "warning.json", "--channel", "weibo"],
        work,
        clean_env(work),
    )
    assert "暴雨" in out and "橙色" in out
    # the package really came from the venv, not from this checkout
    where = run(
        [str(bin_dir / "python"), "-c", "import publisher; print(publisher.__file__)"],
        work,
        clean_env(work),
    )
    assert str(ROOT) not in where


def test_check_from_a_wheel_uses_the_shipped_word_lists(installed: tuple[Path, Path]) -> None:
    bin_dir, work = installed
    bad = dict(WARNING, title="中华人民共合国暴雨橙色预警")
    (work / "bad.json").write_text(json.dumps(bad, ensure_ascii=False), "utf-8")
    done = subprocess.run(
        [str(bin_dir / "publisher"), "check", "bad.json", "--no-links"],
        cwd=work,
        env=clean_env(work),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "中华人民共合国 疑为 中华人民共和国" in done.stdout


def test_serve_posts_a_notice_from_a_wheel(installed: tuple[Path, Path]) -> None:
    bin_dir, work = installed
    env = clean_env(work)
    port = free_port()
    log = (work / "serve.log").open("wb")
    proc = subprocess.Popen(
        [str(bin_dir / "publisher"), "serve", "--port", str(port)],
        cwd=work,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(timeout=10.0, trust_env=False) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get(f"{base}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, (work / "serve.log").read_text()
                time.sleep(0.3)
            env["PUBLISHER_PORT"] = str(port)
            out = run(
                [
                    str(bin_dir / "publisher"),
                    "notice",
                    "submit",
                    "warning.json",
                    "--wait",
                    "60",
                    "--json",
                ],
                work,
                env,
            )
            shown = json.loads(out)
            statuses = {d["channel"]: d["status"] for d in shown["deliveries"]}
            assert statuses == dict.fromkeys(("portal", "weibo", "wechat", "oa"), "posted")
            page = client.get(f"{base}/portal/notices/{shown['id']}")
            assert page.status_code == 200 and "暴雨橙色预警" in page.text
            css = client.get(f"{base}/portal/static/portal.css")
            assert css.status_code == 200 and css.text.strip()
            login = client.get(f"{base}/login")  # the console, from the wheel's templates
            assert login.status_code == 200 and 'name="username"' in login.text
            for asset in ("console.css", "console.js"):
                got = client.get(f"{base}/console/static/{asset}")
                assert got.status_code == 200 and got.text.strip(), asset
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        log.close()
