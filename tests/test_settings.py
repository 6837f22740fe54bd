"""Tests for amc.settings: defaults and the precedence flags > env > config file > default."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from amc.domain.errors import ConfigError
from amc.settings import Settings, flat_names, load_settings


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in an empty directory so a developer's ./amc.toml is never picked up."""
    monkeypatch.chdir(tmp_path)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults() -> None:
    s = load_settings(environ={})
    assert s.window_sentences == 3  # tracs-task.md: 3 sentences either side
    assert s.registry_files == []
    assert s.tier == "rules"
    assert s.skip_bad_rows is False
    assert s.allow_extra_columns is False
    assert s.include_references is False
    assert s.chunk_rows >= 1
    assert s.max_field_chars >= 1000


def test_defaults_ignore_process_environment_when_environ_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AMC_WINDOW_SENTENCES", "9")
    assert load_settings(environ={}).window_sentences == 3
    # and the real environment is restored afterwards
    assert os.environ["AMC_WINDOW_SENTENCES"] == "9"


def test_process_environment_is_the_default_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMC_WINDOW_SENTENCES", "6")
    assert load_settings().window_sentences == 6


# --- precedence, one layer at a time ------------------------------------------------------


def test_config_file_amc_table_over_default(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", "[amc]\nwindow_sentences = 4\nskip_bad_rows = true\n")
    s = load_settings(cfg, environ={})
    assert s.window_sentences == 4
    assert s.skip_bad_rows is True


def test_config_file_top_level_keys(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", "window_sentences = 2\nchunk_rows = 17\n")
    s = load_settings(cfg, environ={})
    assert (s.window_sentences, s.chunk_rows) == (2, 17)


def test_env_over_config_file(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", "[amc]\nwindow_sentences = 4\nchunk_rows = 17\n")
    s = load_settings(cfg, environ={"AMC_WINDOW_SENTENCES": "5"})
    assert s.window_sentences == 5
    assert s.chunk_rows == 17  # not overridden: still from the file


def test_env_over_default() -> None:
    assert load_settings(environ={"AMC_WINDOW_SENTENCES": "5"}).window_sentences == 5


def test_flag_over_env_and_config(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", "[amc]\nwindow_sentences = 4\n")
    s = load_settings(cfg, environ={"AMC_WINDOW_SENTENCES": "5"}, window_sentences=7)
    assert s.window_sentences == 7


def test_none_flag_does_not_override(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", "[amc]\nwindow_sentences = 4\n")
    s = load_settings(cfg, environ={"AMC_WINDOW_SENTENCES": "5"}, window_sentences=None)
    assert s.window_sentences == 5
    assert load_settings(cfg, environ={}, window_sentences=None).window_sentences == 4


def test_bool_from_env() -> None:
    s = load_settings(environ={"AMC_SKIP_BAD_ROWS": "true", "AMC_PROGRESS": "0"})
    assert s.skip_bad_rows is True
    assert s.progress is False


# --- registry files -----------------------------------------------------------------------


def test_registry_files_env_splits_on_commas() -> None:
    s = load_settings(environ={"AMC_REGISTRY_FILES": "a.yaml,b.yaml"})
    assert s.registry_files == [Path("a.yaml"), Path("b.yaml")]


def test_registry_files_env_strips_blanks_and_accepts_pathsep() -> None:
    value = f" a.yaml , {os.pathsep}b.toml,, "
    s = load_settings(environ={"AMC_REGISTRY_FILES": value})
    assert s.registry_files == [Path("a.yaml"), Path("b.toml")]


def test_registry_files_from_config_list(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", '[amc]\nregistry_files = ["x.yaml", "y.toml"]\n')
    assert load_settings(cfg, environ={}).registry_files == [Path("x.yaml"), Path("y.toml")]


# --- config file selection ------------------------------------------------------------------


def test_amc_config_env_selects_file(tmp_path: Path) -> None:
    cfg = write(tmp_path / "elsewhere.toml", "[amc]\nwindow_sentences = 8\n")
    assert load_settings(environ={"AMC_CONFIG": str(cfg)}).window_sentences == 8


def test_explicit_config_beats_amc_config(tmp_path: Path) -> None:
    a = write(tmp_path / "a.toml", "window_sentences = 1\n")
    b = write(tmp_path / "b.toml", "window_sentences = 2\n")
    assert load_settings(a, environ={"AMC_CONFIG": str(b)}).window_sentences == 1


def test_amc_toml_in_working_directory_is_used(tmp_path: Path) -> None:
    write(tmp_path / "amc.toml", "[amc]\nwindow_sentences = 9\n")
    assert load_settings(environ={}).window_sentences == 9


# --- errors -----------------------------------------------------------------------------------


def test_unknown_key_in_config_file(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", "[amc]\nwindow_sentence = 4\n")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg, environ={})
    message = str(info.value)
    assert "window_sentence" in message
    assert str(cfg) in message


@pytest.mark.parametrize(
    ("text", "setting"),
    [
        ("[amc]\nwindow_sentences = -1\n", "window_sentences"),
        ("[amc]\nwindow_sentences = 'many'\n", "window_sentences"),
        ("[amc]\nchunk_rows = 0\n", "chunk_rows"),
        ("[amc]\ntier = 'magic'\n", "tier"),
    ],
)
def test_invalid_value_in_config_names_setting(tmp_path: Path, text: str, setting: str) -> None:
    cfg = write(tmp_path / "c.toml", text)
    with pytest.raises(ConfigError) as info:
        load_settings(cfg, environ={})
    assert setting in str(info.value)


def test_invalid_env_value_names_setting() -> None:
    with pytest.raises(ConfigError, match="window_sentences"):
        load_settings(environ={"AMC_WINDOW_SENTENCES": "-1"})


def test_invalid_flag_value_names_setting() -> None:
    with pytest.raises(ConfigError, match="window_sentences"):
        load_settings(environ={}, window_sentences=51)


def test_missing_config_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"
    with pytest.raises(ConfigError, match="does not exist") as info:
        load_settings(path, environ={})
    assert str(path) in str(info.value)


def test_missing_config_file_from_env(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(environ={"AMC_CONFIG": str(tmp_path / "nope.toml")})


def test_invalid_toml(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", "[amc\nwindow_sentences = 4\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(cfg, environ={})


def test_amc_section_must_be_a_table(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", "amc = 3\n")
    with pytest.raises(ConfigError, match="table"):
        load_settings(cfg, environ={})


def test_unknown_env_variable_is_ignored() -> None:
    """Unknown AMC_* variables are not settings (AMC_CONFIG names the file)."""
    s = load_settings(environ={"AMC_NOT_A_SETTING": "1"})
    assert isinstance(s, Settings)
    assert s.window_sentences == 3


def test_openai_key_is_taken_for_openai_models_only() -> None:
    from amc.settings import load_settings as load

    env = {"OPENAI_API_KEY": "sk-test"}
    openai = load(environ=env)
    assert openai.llm.api_key is not None and openai.llm.api_key.get_secret_value() == "sk-test"
    assert "sk-test" not in repr(openai)  # a secret is never printed
    other = load(environ={**env, "AMC_MODEL": "anthropic/claude-3-5-haiku"})
    assert other.llm.api_key is None
    explicit = load(environ={**env, "AMC_API_KEY": "sk-own"})
    assert explicit.llm.api_key is not None and explicit.llm.api_key.get_secret_value() == "sk-own"


# --- the LLM tier's settings, nested as ``settings.llm`` -----------------------------------


def test_llm_settings_keep_their_flat_names_everywhere(tmp_path: Path) -> None:
    cfg = tmp_path / "amc.toml"
    cfg.write_text('[amc]\nmodel = "openai/from-file"\nllm_concurrency = 3\n', encoding="utf-8")
    env = {"AMC_LLM_TIMEOUT_S": "7.5", "AMC_RERANK": "llm", "AMC_LLM_CONCURRENCY": "5",
           "AMC_PRICES": '{"openai/x": {"input_per_mtok": 1, "output_per_mtok": 2}}'}  # fmt: skip
    s = load_settings(cfg, environ=env, max_cost_usd=3.0, use_cache=False)
    assert s.llm.model == "openai/from-file"  # config file
    assert s.llm.concurrency == 5 and s.llm.timeout_s == 7.5 and s.llm.rerank == "llm"  # env
    assert s.llm.prices["openai/x"].output_per_mtok == 2.0  # JSON in the environment
    assert s.llm.max_cost_usd == 3.0 and s.llm.use_cache is False  # flags


def test_config_file_may_nest_llm_settings_under_their_own_table(tmp_path: Path) -> None:
    cfg = tmp_path / "amc.toml"
    cfg.write_text("[amc]\ntier = 'llm'\n[amc.llm]\nconcurrency = 4\nmode = 'paper'\n")
    s = load_settings(cfg, environ={})
    assert s.tier == "llm" and s.llm.concurrency == 4 and s.llm.mode == "paper"
    cfg.write_text("[amc.llm]\nconcurency = 4\n")
    with pytest.raises(ConfigError, match=r"llm\.concurency"):
        load_settings(cfg, environ={})


def test_invalid_llm_setting_names_its_flat_name_and_variable() -> None:
    with pytest.raises(ConfigError, match=r"'llm_timeout_s' .*AMC_LLM_TIMEOUT_S"):
        load_settings(environ={"AMC_LLM_TIMEOUT_S": "0"})
    with pytest.raises(ConfigError, match="AMC_PRICES is not valid JSON"):
        load_settings(environ={"AMC_PRICES": "{nope"})


def test_flat_values_round_trip_through_with_flat() -> None:
    s = load_settings(environ={}, tier="llm", model="openai/local", llm_mode="paper")
    flat = s.flat_values()
    assert flat["model"] == "openai/local" and flat["llm_mode"] == "paper"
    assert flat["tier"] == "llm" and "llm" not in flat
    copy = load_settings(environ={}).with_flat({k: flat[k] for k in ("tier", "model", "llm_mode")})
    assert copy.tier == "llm" and copy.llm.model == "openai/local" and copy.llm.mode == "paper"
    assert len(flat_names()) == len(flat) and len(set(flat_names())) == len(flat_names())


# --- where amc keeps its files: one per-user data folder ------------------------------------


def test_files_default_to_the_per_user_data_folder_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no settings, store, cache, spool and audit reports are in the user's data folder
    (platformdirs: $XDG_DATA_HOME/amc, which conftest points at a tmp folder), whatever the
    working directory, and loading the settings creates nothing."""
    data_home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))
    seen = []
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        monkeypatch.chdir(tmp_path / folder)
        s = load_settings(environ={})
        seen.append((s.database_url, s.llm.cache_path, s.spool_dir, s.audit_out_dir))
    home = data_home / "amc"
    assert (
        seen[0]
        == seen[1]
        == (
            f"sqlite:///{home / 'amc.sqlite3'}",
            home / "llm-cache.sqlite",
            home / "spool",
            home / "audit-reports",
        )
    )
    assert not data_home.exists()
    assert not any((tmp_path / "a").iterdir()) and not any((tmp_path / "b").iterdir())


def test_amc_home_moves_every_default_and_explicit_settings_still_win(tmp_path: Path) -> None:
    s = load_settings(environ={"AMC_HOME": str(tmp_path / "h")})
    assert s.home == tmp_path / "h"
    assert s.database_url == f"sqlite:///{tmp_path / 'h' / 'amc.sqlite3'}"
    assert s.llm.cache_path == tmp_path / "h" / "llm-cache.sqlite"
    assert (s.spool_dir, s.audit_out_dir) == (
        tmp_path / "h" / "spool",
        tmp_path / "h" / "audit-reports",
    )
    env = {"AMC_HOME": str(tmp_path / "h"), "AMC_CACHE_PATH": "/c/cache.sqlite",
           "AMC_DATABASE_URL": "postgresql://u@db/amc"}  # fmt: skip
    s = load_settings(environ=env, spool_dir=tmp_path / "sp")
    assert s.llm.cache_path == Path("/c/cache.sqlite") and s.database_url == env["AMC_DATABASE_URL"]
    assert s.spool_dir == tmp_path / "sp" and s.audit_out_dir == tmp_path / "h" / "audit-reports"
    # a copy with other flat values keeps the paths it was loaded with
    assert s.with_flat({"tier": "llm"}).llm.cache_path == Path("/c/cache.sqlite")


def test_amc_home_expands_the_user_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert load_settings(environ={"AMC_HOME": "~/amc-data"}).home == tmp_path / "amc-data"


def test_llm_settings_alone_keep_their_cache_in_the_data_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from amc.settings.llm import LLMSettings

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert LLMSettings().cache_path == tmp_path / "amc" / "llm-cache.sqlite"
