"""The reference pages are generated from the code and complete: every setting with its
variable, default and meaning; every command; the HTTP API with cryptovol's own title, version
and request examples."""

from __future__ import annotations

import pytest

from cryptovol.cli.reference import (
    api_markdown,
    api_spec,
    cli_commands,
    cli_markdown,
    configuration_markdown,
    env_names,
    settings_models,
    undocumented_settings,
)
from serving.openapi import ERRORS, EXAMPLES


def test_every_setting_has_a_description():
    assert undocumented_settings() == []


def test_the_configuration_page_lists_every_setting_with_its_variable():
    page = configuration_markdown()
    count = 0
    for _, model in settings_models():
        for name, field in model.model_fields.items():
            for variable in env_names(model, name):
                assert f"`{variable}`" in page, variable
            assert " ".join(field.description.split())[:40] in page, name
            count += 1
    assert count >= 60  # the platform's and the stack's settings
    for variable in ("REDIS_URL", "CRYPTOVOL_SERVICE_URL", "CRYPTOVOL_STACK_UI_PORT",
                     "CRYPTOVOL_VERBOSE", "CRYPTOVOL_API_KEY", "CRYPTOVOL_DEMO_DATA",
                     "CRYPTOVOL_MODEL_NAME", "CRYPTOVOL_EXPERIMENT_NAME", "CRYPTOVOL_SERVE_HORIZONS"):
        assert f"`{variable}`" in page, variable
    assert "`CRYPTOVOL_TASK_RUNNER`" not in page  # removed settings leave the page too


def test_an_undescribed_setting_is_caught(monkeypatch):
    from pydantic.fields import FieldInfo

    from cryptovol.settings import Settings

    fields = dict(Settings.model_fields)
    fields["new_knob"] = FieldInfo(annotation=int, default=1)
    monkeypatch.setattr(Settings, "model_fields", fields)
    assert undocumented_settings() == ["Settings.new_knob"]


def test_the_cli_page_has_every_command_and_option():
    page = cli_markdown()
    for name in cli_commands():
        assert f"`cryptovol {name}`" in page, name
    assert len(cli_commands()) >= 25
    for option in ("`--horizon`", "`--rebuild`", "`--format`", "`--mlflow-port`", "`--url`"):
        assert option in page


@pytest.fixture(scope="module")
def spec():
    return api_spec()


def test_the_api_is_described_as_cryptovol(spec):
    info = spec["info"]
    assert info["title"] == "cryptovol" and info["version"] not in ("", "None")
    assert "BentoML" not in info["description"] and "POST /predict" in info["description"]
    body = spec["paths"]["/predict"]["post"]["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["examples"] == EXAMPLES


def test_the_api_page_has_every_path_answer_and_example(spec):
    page = api_markdown(spec)
    for path in ("/predict", "/readyz", "/livez", "/metrics"):
        assert path in page
    for code in [*ERRORS, "200", "400"]:
        assert f"| {code} |" in page, code
    assert '{"symbols": ["BTC", "ETH"]}' in page and "### PredictResponse" in page
