"""config/publisher.example.toml shows every setting and every account option, and loads.

The example is what an operator copies. A setting or account option added to the code and
not to the example fails here, on purpose: the example must keep showing everything.

"Commented keys" are lines that start with ``# `` followed by ``name =`` or a ``[table]``
header; removing that ``# `` gives the example with everything switched on, which must load
too. Secrets never appear as keys: the example names the environment variable that carries
each one (``PUBLISHER_API_TOKEN``, ``PUBLISHER_ACCOUNTS__<NAME>__<OPTION>``).
"""

from __future__ import annotations

import json
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from pydantic.fields import FieldInfo

from publisher.registry import adapter_types, build_options
from publisher.settings import REPO_ROOT, Settings, load_settings

EXAMPLE = REPO_ROOT / "config" / "publisher.example.toml"
COMMENTED_KEY = re.compile(r"^# (?=\[|[A-Za-z_][A-Za-z0-9_]*\s*=)", re.MULTILINE)
# A valid EncodingAESKey shape (43 characters of base64 for 32 bytes), for the validator.
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

pytestmark = pytest.mark.usefixtures("clean_env")


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return any(_is_secret(arg) for arg in typing.get_args(annotation))
    return False


def _secret(field: FieldInfo) -> bool:
    return _is_secret(field.annotation)


def shipped_types() -> dict[str, Any]:
    """The channel types publisher ships (a test may install a toy channel of its own)."""
    return {n: cls for n, cls in adapter_types().items() if cls.__module__.startswith("channels.")}


def example_text() -> str:
    return EXAMPLE.read_text(encoding="utf-8")


def everything_on() -> dict[str, Any]:
    """The example with every commented key switched on."""
    return tomllib.loads(COMMENTED_KEY.sub("", example_text()))


def test_the_example_as_shipped_loads_into_the_settings_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PUBLISHER_CONFIG", str(EXAMPLE))
    settings = load_settings()
    assert set(settings.accounts) == {"portal", "weibo", "wechat", "oa"}
    assert settings.routes["weather_warning"] == ["portal", "weibo", "wechat", "oa"]
    # Commented keys stay commented: the defaults hold.
    assert settings.database_url == Settings.model_fields["database_url"].default
    assert settings.accounts["weibo"].get("access_token") is None


def test_every_top_level_setting_is_shown() -> None:
    shown = set(everything_on())
    text = example_text()
    for name, field in Settings.model_fields.items():
        if _secret(field):
            assert f"PUBLISHER_{name.upper()}" in text, f"secret {name}: say which variable"
            assert name not in shown, f"secret {name} is written as a key in the example"
        else:
            assert name in shown, f"setting {name!r} is missing from {EXAMPLE.name}"


def test_every_setting_shown_is_real_and_loads_switched_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = everything_on()
    assert set(data) <= set(Settings.model_fields), "the example shows a setting that is not one"
    data["templates_dir"] = str(REPO_ROOT / "templates")  # the example's path is illustrative
    on = tmp_path / "publisher.json"  # the same settings, in a format Python can write
    on.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("PUBLISHER_CONFIG", str(on))
    settings = load_settings()
    assert settings.metrics_interval == 3600.0
    assert set(settings.routes) == {
        "weather_warning",
        "approval_list",
        "penalty_disclosure",
        "accident_report",
        "budget_disclosure",
        "general",
    }


def test_every_account_type_is_shown_with_every_option() -> None:
    accounts: dict[str, dict[str, Any]] = everything_on()["accounts"]
    text = example_text()
    by_type: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for name, raw in accounts.items():
        by_type.setdefault(raw["type"], []).append((name, raw))
    assert set(by_type) == set(shipped_types()), "every shipped channel type has an example"
    for type_name, cls in shipped_types().items():
        for option, field in cls.Options.model_fields.items():
            if _secret(field):
                names = [
                    f"PUBLISHER_ACCOUNTS__{n.upper()}__{option.upper()}"
                    for n, _ in by_type[type_name]
                ]
                assert any(n in text for n in names), f"{type_name}.{option}: say which variable"
                assert not any(option in raw for _, raw in by_type[type_name]), (
                    f"{type_name}.{option} is a secret written as a key in the example"
                )
            else:
                assert any(option in raw for _, raw in by_type[type_name]), (
                    f"option {option!r} of {type_name} is missing from {EXAMPLE.name}"
                )


def test_every_account_switched_on_is_valid_for_its_channel(tmp_path: Path) -> None:
    """With its secrets from the environment, each example account is accepted as written."""
    cover = tmp_path / "cover.png"
    cover.write_bytes(b"\x89PNG\r\n\x1a\n")
    for name, raw in everything_on()["accounts"].items():
        options = dict(raw)
        cls = adapter_types()[options["type"]]
        if "covers" in options:  # paths must exist; the example's are illustrative
            options["covers"] = {kind: str(cover) for kind in options["covers"]}
        for option, field in cls.Options.model_fields.items():
            if _secret(field):
                options[option] = AES_KEY if option == "encoding_aes_key" else f"s3cret-{option}"
        _, built = build_options(name, options, "https://yjj.example.gov.cn")
        assert built.type == options["type"]
        assert not built.sandbox, f"{name}: the example shows real accounts"


def test_the_comments_mark_off_settings_and_not_prose() -> None:
    """Only "# key =" and "# [table]" lines are commented keys; prose never starts that way,
    so switching everything on cannot turn a sentence into a setting."""
    for line in example_text().splitlines():
        if COMMENTED_KEY.match(line):
            rest = line[2:]
            assert re.match(r"(\[[a-z_]+(\.[a-z_]+)*\]|[a-z_]+ = )", rest), line
