"""The README's "Fine-tune" commands are exact: every ``python scripts/run_*.py`` line there parses with its
script's arguments (``HfArgumentParser`` refuses an unknown flag or a bad value)."""

import re
import shlex
from pathlib import Path

import pytest
from helpers import load_script
from transformers import HfArgumentParser

README = Path(__file__).resolve().parents[2] / "README.md"


def fine_tune_commands() -> list[list[str]]:
    text = README.read_text()
    section = text[text.index("\n## Fine-tune\n") :]
    section = section[: section.index("\n## ", 1)]
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == ["python"] and words[1].startswith("scripts/run_"):
                commands.append(words[1:])
    return commands


COMMANDS = fine_tune_commands()


def test_the_section_shows_every_script_and_the_bible_run_before_and_after():
    scripts = {command[0] for command in COMMANDS}
    assert scripts == {
        f"scripts/{name}.py" for name in ("run_translation", "run_classification", "run_image_classification")
    }
    bible = [command for command in COMMANDS if "bible_en_es" in command]
    assert len(bible) == 2 and "--do_train" not in bible[0] and "--do_train" in bible[1]
    assert all("--do_predict" in command and "runs/explicit_sparse_bible" in command for command in bible)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: " ".join(command[:3]))
def test_readme_command_parses(command):
    script = load_script(Path(command[0]).stem)
    parsed = HfArgumentParser(script.ARGUMENTS).parse_args_into_dataclasses(command[1:])
    assert parsed[2].output_dir == command[command.index("--output_dir") + 1]
