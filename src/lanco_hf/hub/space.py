"""Publishing a run's live demo as a Hugging Face Space (Gradio SDK): ``app.py`` builds the same app as
``lanco-hf demo`` (``lanco_hf.demo.load_demo``), ``requirements.txt`` installs ``lanco-hf[demo]``, and ``README.md``
carries the Space metadata (``sdk: gradio``, ``sdk_version``, ``app_file``, title, emoji, colours, and the model
repo it runs). The model is either a model repo pushed before (``model_repo``; the Space downloads it) or the run's
files uploaded into the Space's ``model/`` folder."""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import CommitOperationAdd, HfApi, SpaceCard, SpaceCardData

from .. import __version__
from ..demo.apps import import_gradio, task_of
from .push import check_run_folder, model_operations

SPACE_MODEL_FOLDER = "model"
EMOJI = {"translation": "🌐", "text-classification": "🏷️", "zero-shot-image-classification": "🖼️"}

APP_TEMPLATE = '''"""The live demo of {model}, written by `lanco-hf push --space` (lanco-hf {version})."""

from pathlib import Path

from lanco_hf.demo import load_demo

MODEL = {model_expression}
app = load_demo(MODEL, task={task!r}, title={title!r})
demo = app.blocks()

if __name__ == "__main__":
    demo.launch()
'''


def space_app(task: str, title: str, model_repo: str | None = None) -> str:
    """The Space's ``app.py``: the ``task`` app of ``model_repo``, or of the Space's own ``model/`` folder."""
    if model_repo is None:
        model, expression = "the model in model/", f'str(Path(__file__).parent / "{SPACE_MODEL_FOLDER}")'
    else:
        model, expression = model_repo, repr(model_repo)
    return APP_TEMPLATE.format(model=model, version=__version__, model_expression=expression, task=task, title=title)


def space_card(space_id: str, task: str, model_repo: str | None = None) -> SpaceCard:
    """The Space's ``README.md``: its metadata (the Gradio SDK and version the app was tested with) and a line on
    what it runs."""
    gradio = import_gradio()
    name = space_id.split("/")[-1]
    data = SpaceCardData(
        title=name,
        sdk="gradio",
        sdk_version=gradio.__version__,
        app_file="app.py",
        license="apache-2.0",
        models=[model_repo] if model_repo else None,
        tags=["lanco-hf", task],
        emoji=EMOJI[task],
        colorFrom="indigo",
        colorTo="blue",
        pinned=False,
    )
    model = f"[{model_repo}](https://huggingface.co/{model_repo})" if model_repo else "the model in `model/`"
    body = (
        f"# {name}\n\nA live {task} demo of {model}, trained with lanco-hf and published with "
        "`lanco-hf push --space`. Run it locally with "
        f"`pip install 'lanco-hf[demo]' && lanco-hf demo {model_repo or 'model'}`.\n"
    )
    return SpaceCard(f"---\n{data.to_yaml()}\n---\n\n{body}")


def default_requirement() -> str:
    """What the Space's ``requirements.txt`` installs by default: this version of lanco-hf with the demo extra."""
    return f"lanco-hf[demo]=={__version__}"


def space_files(
    run_dir: str | Path, space_id: str, model_repo: str | None = None, requirement: str | None = None
) -> dict[str, bytes]:
    """``app.py``, ``requirements.txt`` (``requirement``, default ``default_requirement()``) and ``README.md`` of the
    Space that demonstrates ``run_dir``."""
    task = task_of(Path(run_dir))
    title = model_repo or space_id.split("/")[-1]
    requirement = requirement or default_requirement()
    if "lanco-hf" not in requirement.replace("lanco_hf", "lanco-hf"):
        raise ValueError(f"space_requirement={requirement!r} does not install lanco-hf, which app.py imports")
    return {
        "app.py": space_app(task, title, model_repo).encode("utf-8"),
        "requirements.txt": f"{requirement}\n".encode(),
        "README.md": str(space_card(space_id, task, model_repo)).encode("utf-8"),
    }


def push_space(
    run_dir: str | Path,
    space_id: str,
    *,
    model_repo: str | None = None,
    requirement: str | None = None,
    private: bool = False,
    token: str | None = None,
    endpoint: str | None = None,
    allow_incomplete: bool = False,
    commit_message: str = "Demo of a model trained with lanco-hf",
) -> str:
    """Create the Gradio Space ``space_id`` if needed and upload its app, requirements (``requirement``: how the
    Space installs lanco-hf, e.g. a ``git+https://...`` URL; default ``default_requirement()``) and card, plus the
    run's model files under ``model/`` unless the app loads ``model_repo``; one commit, returns its URL."""
    run_dir = Path(run_dir)
    check_run_folder(run_dir, allow_incomplete)
    files = space_files(run_dir, space_id, model_repo, requirement)
    api = HfApi(token=token, endpoint=endpoint)
    space_id = api.create_repo(space_id, repo_type="space", space_sdk="gradio", private=private, exist_ok=True).repo_id
    operations = [CommitOperationAdd(path_in_repo=name, path_or_fileobj=content) for name, content in files.items()]
    if model_repo is None:
        operations += model_operations(run_dir, space_id, prefix=f"{SPACE_MODEL_FOLDER}/")
    return api.create_commit(space_id, operations, repo_type="space", commit_message=commit_message).commit_url
