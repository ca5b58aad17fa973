"""Settings: file formats, precedence, path resolution and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from riskwatch.config import ConfigError, find_config_file, load_settings, setting_fields


def test_defaults_resolve_against_the_config_folder_not_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "riskwatch.toml").write_text("")
    monkeypatch.chdir(tmp_path)
    settings = load_settings(ws / "riskwatch.toml", env={})
    assert settings.workspace == ws
    assert settings.input_folder_path == ws / "sourcedata"
    assert settings.output_folder_path == ws / "ingesteddata"
    assert settings.database_url == f"sqlite:///{ws}/riskwatch.db"


def test_classic_config_json_maps_its_five_keys(tmp_path: Path) -> None:
    classic = {
        "input_folder_path": "practicedata",
        "output_folder_path": "ingesteddata",
        "test_data_path": "testdata",
        "output_model_path": "practicemodels",
        "prod_deployment_path": "production_deployment",
    }
    (tmp_path / "config.json").write_text(json.dumps(classic))
    settings = load_settings(tmp_path / "config.json", env={})
    for key, value in classic.items():
        assert getattr(settings, key) == tmp_path / value


def test_without_config_option_riskwatch_toml_wins_over_config_json(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    assert find_config_file(None, tmp_path) == tmp_path / "config.json"
    (tmp_path / "riskwatch.toml").write_text("")
    assert find_config_file(None, tmp_path) == tmp_path / "riskwatch.toml"


def test_missing_config_file_names_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"riskwatch\.toml and .*config\.json"):
        find_config_file(None, tmp_path)


def test_precedence_is_defaults_file_environment_arguments(tmp_path: Path) -> None:
    config = tmp_path / "riskwatch.toml"
    config.write_text('input_folder_path = "from_file"\nread_chunk_rows = 10\n')
    env = {"RISKWATCH_INPUT_FOLDER_PATH": "from_env", "RISKWATCH_READ_CHUNK_ROWS": "20"}
    settings = load_settings(config, env=env)
    assert settings.input_folder_path == tmp_path / "from_env"
    assert settings.read_chunk_rows == 20
    settings = load_settings(config, env=env, overrides={"read_chunk_rows": 30})
    assert settings.read_chunk_rows == 30
    assert load_settings(config, env={}).read_chunk_rows == 10


def test_environment_lists_and_choices_are_parsed(tmp_path: Path) -> None:
    config = tmp_path / "riskwatch.toml"
    config.write_text("")
    env = {
        "RISKWATCH_SOURCE_PATTERNS": "*.csv, *.tsv",
        "RISKWATCH_EXTRA_COLUMNS": "keep",
        "RISKWATCH_GATE_MARGIN": "0.01",
        "RISKWATCH_MODEL_SEED": "0",
    }
    settings = load_settings(config, env=env)
    assert settings.source_patterns == ("*.csv", "*.tsv")
    assert (settings.gate_margin, settings.model_seed) == (0.01, 0)
    assert settings.extra_columns == "keep"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            'inptu_folder_path = "x"\n',
            r"key 'inptu_folder_path': unknown setting \(did you mean 'input_folder_path'\?\)",
        ),
        (
            'read_chunk_rows = "many"\n',
            r"key 'read_chunk_rows': must be a whole number, got 'many'",
        ),
        ("read_chunk_rows = 0\n", r"key 'read_chunk_rows': must be at least 1, got 0"),
        ("decision_threshold = 1.5\n", r"key 'decision_threshold': must be at most 1.0, got 1.5"),
        ('gate_margin = "big"\n', r"key 'gate_margin': must be a finite number, got 'big'"),
        (
            "risk_band_medium = 0.6\n",
            r"key 'risk_band_medium' \(0.6\) must not be above risk_band_high \(0.5\)",
        ),
        ('model_kind = "forest"\n', r"key 'model_kind': must be one of logistic, hgb, classic"),
        ('source = "ftp"\n', r"key 'source': must be one of folder, database, got 'ftp'"),
        ("input_folder_path = 3\n", r"key 'input_folder_path': must be a string, got 3"),
        ("this is not toml\n", r"not valid TOML"),
        ('source = "database"\n', r"key 'source_url': required when source = 'database'"),
    ],
)
def test_bad_config_file_names_the_key_and_the_file(
    tmp_path: Path, content: str, message: str
) -> None:
    config = tmp_path / "riskwatch.toml"
    config.write_text(content)
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(config, env={})
    assert str(config) in str(caught.value)


def test_bad_classic_json_names_the_file(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text('{"input_folder_path": "practicedata",}')
    with pytest.raises(ConfigError, match=r"config\.json: not valid JSON"):
        load_settings(config, env={})


def test_unreadable_config_file_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "riskwatch.toml"
    config.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ConfigError, match="cannot read the configuration file"):
        load_settings(config, env={})
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.toml", env={})


def test_bad_environment_variable_is_named(tmp_path: Path) -> None:
    config = tmp_path / "riskwatch.toml"
    config.write_text("")
    with pytest.raises(ConfigError, match="environment variable RISKWATCH_READ_CHUNK_ROWS"):
        load_settings(config, env={"RISKWATCH_READ_CHUNK_ROWS": "lots"})
    with pytest.raises(ConfigError, match="environment variable RISKWATCH_SORCE: unknown"):
        load_settings(config, env={"RISKWATCH_SORCE": "folder"})


def test_relative_sqlite_source_url_is_anchored_in_the_workspace(tmp_path: Path) -> None:
    config = tmp_path / "riskwatch.toml"
    config.write_text('source = "database"\nsource_url = "sqlite:///source.db"\n')
    settings = load_settings(config, env={})
    assert settings.source_url == f"sqlite:///{tmp_path}/source.db"


def test_every_setting_is_documented() -> None:
    docs = (Path(__file__).resolve().parents[1] / "docs" / "configuration.md").read_text()
    for field in setting_fields():
        assert f"`{field.name}`" in docs, (
            f"setting {field.name} is missing from docs/configuration.md"
        )
        assert field.metadata["help"], f"setting {field.name} has no description"
