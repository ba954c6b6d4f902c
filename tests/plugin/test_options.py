"""Settings from the command line, [tool.harness] and ini options: one definition, one order."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.run.settings import RunSettings, SettingsError
from harness.run.sources import harness_table, pyproject_path, resolve, settings
from tests.conftest import ROOT, evals_project

AVOID_NONE = "sim/indifferent:avoidance=0.0"
QUICK = ("-p", "no:cacheprovider", "-k", "original")


def test_table_keys_take_the_settings_names(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(
        "[tool.harness]\nmax-calls = 5\nbaseline_margin = 0.1\n"
        '[tool.harness.model_args."sim/indifferent"]\navoidance = 0.4\n'
    )
    table = harness_table(path)
    assert table["max_calls"] == 5 and table["baseline_margin"] == 0.1
    assert table["model_args"] == {"sim/indifferent": {"avoidance": 0.4}}
    assert harness_table(tmp_path / "missing.toml") == {}
    assert pyproject_path(tmp_path, None) == path
    path.write_text("[tool.harness\n")
    with pytest.raises(SettingsError):
        harness_table(path)


def test_every_field_with_an_option_is_a_setting_and_every_setting_a_field() -> None:
    names = {s.name for s in settings()}
    assert {"seed", "alpha", "max_draws", "cache_dir", "temperature", "max_tokens"} <= names
    assert "compliance_confidence" not in names  # not marked: not settable
    for s in settings():
        assert s.name in s.owner.model_fields


def test_precedence_is_command_line_then_table_then_ini_then_default(tmp_path: Path) -> None:
    def seed(cli: int | None, table: int | None, ini: str | None) -> int:
        got = resolve(
            {"seed": cli}, {"seed": table} if table else {}, {"seed": ini}, tmp_path, no_cache=True
        )
        return got.seed

    assert seed(1, 2, "3") == 1
    assert seed(None, 2, "3") == 2
    assert seed(None, None, "3") == 3
    assert seed(None, None, None) == RunSettings().seed


def test_cache_switch_is_strict_and_paths_are_from_the_root(tmp_path: Path) -> None:
    on = resolve({}, {"cache_dir": "draws", "baseline": "b.json"}, {}, tmp_path)
    assert on.cache_dir == tmp_path / "draws" and on.baseline == tmp_path / "b.json"
    assert resolve({}, {"cache": False}, {}, tmp_path).cache_dir is None
    assert resolve({}, {}, {}, tmp_path, no_cache=True).cache_dir is None
    with pytest.raises(SettingsError, match=r"\[tool.harness\] cache: expected true or false"):
        resolve({}, {"cache": "no"}, {}, tmp_path)
    with pytest.raises(SettingsError, match=r"\[tool.harness\] refresh: expected true or false"):
        resolve({}, {"refresh": "yes"}, {}, tmp_path)


def test_errors_name_where_the_value_came_from(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^\[tool.harness\] max_calls: "):
        resolve({}, {"max_calls": "many"}, {}, tmp_path)
    with pytest.raises(SettingsError, match=r"^--alpha: "):
        resolve({"alpha": 0.9}, {}, {}, tmp_path)
    with pytest.raises(SettingsError, match=r"^ini harness_temperature: "):
        resolve({}, {}, {"temperature": "hot"}, tmp_path)
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.harness]\nmax_drawz = 5\n")
    with pytest.raises(SettingsError, match=r"unknown key 'max_drawz'"):
        harness_table(path)


def test_model_args_and_paths_from_config_reconfigure_the_run(pytester: pytest.Pytester) -> None:
    project = evals_project(
        pytester.path,
        "[tool.harness]\nmodels = ['sim/indifferent']\ncache_dir = 'draws'\nreport_dir = 'out'\n"
        '[tool.harness.model_args."sim/indifferent"]\navoidance = 0.9\n',
    )
    result = pytester.runpytest_inprocess("evals/", *QUICK)
    assert result.ret == 1, result.outlines  # avoidance 0.9 from the file: the claims fail
    assert list((project / "draws").glob("*.jsonl"))
    assert list((project / "out").glob("*/results.json"))
    result = pytester.runpytest_inprocess("evals/", *QUICK, "--model-arg", AVOID_NONE)
    assert result.ret == 0, result.outlines  # the command line wins per key


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("max_calls = 'many'", "harness settings: [tool.harness] max_calls: "),
        ("max_drawz = 5", "unknown key 'max_drawz'"),
        ("cache = 'no'", "[tool.harness] cache: expected true or false, got 'no'"),
    ],
)
def test_a_bad_table_is_a_one_line_usage_error(
    pytester: pytest.Pytester, table: str, message: str
) -> None:
    evals_project(pytester.path, f"[tool.harness]\n{table}\n")
    result = pytester.runpytest_inprocess("evals/", "-p", "no:cacheprovider")
    out = "\n".join([*result.outlines, *result.errlines])
    assert result.ret == pytest.ExitCode.USAGE_ERROR, out
    assert message in out
    assert "Traceback" not in out


def test_help_shows_every_setting_with_its_default(pytester: pytest.Pytester) -> None:
    evals_project(pytester.path)
    result = pytester.runpytest_inprocess("--help")
    text = " ".join(" ".join(result.outlines).split())
    for s in settings():
        assert s.cli in text
    assert "run seed (default: 20240312)" in text
    assert "(default: .harness-cache)" in text
    assert "harness_max_draws" in text


def test_the_documented_table_names_every_setting() -> None:
    table = (ROOT / "docs" / "ci.md").read_text()
    for s in settings():
        assert f"`{s.name}`" in table, s.name
        assert s.cli in table or "same names" in table, s.cli
