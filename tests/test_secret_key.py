"""No default secrets: serving refuses the built-in key and a short one (funders'
pseudonymous tokens would be reversible by anyone with the source), and every demo
database gets a random key of its own, kept beside it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from yirong.api.server import serve
from yirong.cli import app
from yirong.config import BUILT_IN_SECRET_KEY, settings
from yirong.errors import YirongError


@pytest.mark.parametrize(
    ("key", "why"),
    [
        (None, "built-in"),  # unset: the built-in default
        (BUILT_IN_SECRET_KEY, "built-in"),
        ("short-but-not-built-in-31-chars", "shorter than 32"),
    ],
)
def test_serving_refuses_an_unsafe_key(
    key: str | None, why: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if key is None:
        monkeypatch.delenv("YIRONG_SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("YIRONG_SECRET_KEY", key)
    with pytest.raises(YirongError) as refused:
        serve(f"sqlite:///{tmp_path / 'x.db'}", port=1)
    assert refused.value.code == "secret_key_unsafe" and why in str(refused.value.details)
    assert not (tmp_path / "x.db").exists()  # refused before anything was done
    monkeypatch.delenv("YIRONG_SECRET_KEY", raising=False)
    result = CliRunner().invoke(app, ["--database", f"sqlite:///{tmp_path / 'y.db'}", "serve"])
    assert result.exit_code == 2 and "secret_key_unsafe" in result.output


def test_each_demo_database_gets_a_random_key_of_its_own(tmp_path: Path) -> None:
    before = os.environ.get("YIRONG_SECRET_KEY")
    keys = []
    for name in ("a.db", "b.db"):
        path = tmp_path / name
        args = ["demo", "--agents", "20", "--days", "2", "--path", str(path), "--no-serve"]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        key_file = Path(f"{path}.key")
        assert key_file.stat().st_mode & 0o077 == 0  # readable by its owner only
        keys.append(key_file.read_text().strip())
    assert len(keys[0]) >= 32 and keys[0] != keys[1] and BUILT_IN_SECRET_KEY not in keys
    assert os.environ.get("YIRONG_SECRET_KEY") == before  # the demo left the environment


def test_the_key_never_shows_in_the_settings_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    key = "a-secret-key-nobody-should-ever-read-in-a-log"
    monkeypatch.setenv("YIRONG_SECRET_KEY", key)
    loaded = settings()
    assert loaded.secret_key == key
    assert key not in repr(loaded) and key not in str(loaded)
