"""``lanco-hf demo``'s options: listed in the help, checked before anything loads (one-line errors naming the field
and the allowed values); the served page itself is tested in ``tests/demo/test_demo_browser.py``."""

import pytest

from lanco_hf.cli import main
from lanco_hf.demo import DEMO_TASKS


def test_demo_is_a_command_with_its_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--help"])
    assert exit_info.value.code == 0
    help_text = "".join(capsys.readouterr().out.split())  # argparse wraps lines, also at hyphens
    for option in ("RUN_DIR_OR_REPO", "--port", "--server-name", "--share", "--task", *DEMO_TASKS):
        assert option in help_text
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "demo" in capsys.readouterr().out


@pytest.mark.parametrize(
    "options, message",
    [
        (["--port", "0"], "port=0 is out of range; allowed: [1, 65535]"),
        (["--port", "70000"], "port=70000 is out of range"),
        (["--task", "summarization"], "task='summarization' is not supported; allowed values: 'translation'"),
        (["--server-name", ""], "server_name: give an address"),
    ],
)
def test_bad_options_name_the_field_before_any_model_loads(options, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", str(tmp_path / "missing"), *options])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_a_folder_without_a_task_is_refused_with_the_choices(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["demo", str(tmp_path)])
    assert f"the demo has apps for {', '.join(DEMO_TASKS)} (pass --task" in capsys.readouterr().err
