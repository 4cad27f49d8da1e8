"""The district's files are checked on load; logs never show a caller's personal data."""

import json

import pytest
import structlog

from linkage.domain.time_limits import load_time_limits
from linkage.settings.config import ConfigError
from linkage.settings.gateway import load_gateway_config
from linkage.settings.logs import configure, get_logger, mask_text
from linkage.settings.paths import config_dir


def test_the_shipped_time_limit_table_loads():
    limits = load_time_limits()
    assert limits.hotline.handle_hours["emergency"] < limits.hotline.handle_hours["routine"]
    assert limits.review.sending_review_required == ["police"]


def test_a_bad_time_limit_table_names_the_field_and_the_problem(tmp_path):
    text = (config_dir() / "time-limits.toml").read_text()
    broken = text.replace("sign_hours = 2 ", "sign_hours = -1 ").replace("emergency = 4\n", "")
    path = tmp_path / "time-limits.toml"
    path.write_text(broken)
    with pytest.raises(ConfigError) as err:
        load_time_limits(path)
    message = str(err.value)
    assert "hotline.sign_hours: Input should be greater than 0" in message
    assert "missing emergency" in message

    no_bureau = text.replace('sending_review_required = ["police"]', "sending_review_required = []")
    path.write_text(no_bureau)
    with pytest.raises(
        ConfigError, match="sending_review_required: Value error, must include police"
    ):
        load_time_limits(path)

    path.write_text("version = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_time_limits(path)
    with pytest.raises(ConfigError, match="file not found"):
        load_time_limits(tmp_path / "missing.toml")


def test_the_gateway_file_is_checked(tmp_path):
    assert load_gateway_config().endpoints["police"] == ""
    path = tmp_path / "gateway.toml"
    path.write_text('[endpoints]\npolice = ""\nfax = "http://x"\n')
    with pytest.raises(ConfigError, match="unknown target"):
        load_gateway_config(path)


def test_personal_data_is_masked_in_every_log_line(capsys):
    structlog.reset_defaults()
    configure()
    get_logger(incident_id="police-JJ1").info(
        "incident opened 来电 13912345678 身份证 320507199001011234",
        caller_name="王小明",
        caller_phone="13912345678",
        caller_id_number="320507199001011234",
        note="联系电话 0512-65551234，请回电",
    )
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    for secret in ("13912345678", "320507199001011234", "小明", "65551234"):
        assert secret not in line
    assert record["caller_name"] == "王**" and record["incident_id"] == "police-JJ1"
    assert record["caller_phone"] == "139****5678"


def test_mask_text_leaves_other_numbers_alone():
    assert mask_text("工单 GD20261129017 已派遣") == "工单 GD20261129017 已派遣"
    assert mask_text("电话13812345678") == "电话138****5678"


def test_the_sdk_own_log_lines_are_masked_too(capsys):
    import logging

    configure()
    try:
        raise ValueError("insert failed for caller phone 13912345678")
    except ValueError:
        logging.getLogger("temporalio.activity").warning(
            "Completing activity as failed (caller 139-1234-5678)", exc_info=True
        )
    err = capsys.readouterr().err
    assert "Completing activity as failed" in err and "ValueError" in err
    assert "13912345678" not in err and "1234-5678" not in err


def test_an_expected_failure_is_one_line_and_an_unexpected_one_keeps_its_traceback(capsys):
    import logging

    import httpx
    from temporalio.exceptions import ApplicationError

    configure()
    sdk = logging.getLogger("temporalio.activity")
    for expected in (
        httpx.ConnectError("[Errno 111] Connection refused (caller 13912345678)"),
        ApplicationError("the receiving platform refused it: 400", non_retryable=True),
    ):
        try:
            raise expected
        except Exception:
            sdk.warning("Completing activity as failed", exc_info=True)
    err = capsys.readouterr().err
    assert "Traceback" not in err and "13912345678" not in err
    assert "Completing activity as failed: ConnectError: [Errno 111] Connection refused" in err
    assert "Completing activity as failed: ApplicationError: the receiving platform" in err
    try:
        raise KeyError("a bug")
    except KeyError:
        sdk.warning("Completing activity as failed", exc_info=True)
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("来电人王小明反映楼下噪音", "小明"),
        ("姓名：欧阳明月，住3栋", "阳明月"),
        ("身份证 320507 1990 0101 123X 的住户", "1990 0101"),
        ("身份证320507-1990-0101-123X", "1990-0101"),
    ],
)
def test_names_and_spaced_id_numbers_in_free_text_are_masked(text, hidden):
    from linkage.settings.logs import mask_text

    masked = mask_text(text)
    assert hidden not in masked and masked != text
