"""A live demo of a trained model, the Hub's way: a Gradio app (the framework of Hub Spaces) per task, built from
a run folder or a Hub model repo. ``lanco-hf demo RUN_DIR_OR_REPO`` serves it; ``lanco-hf push --space USER/NAME``
publishes it as a Space. Needs the ``[demo]`` extra (gradio)::

    from lanco_hf.demo import load_demo

    app = load_demo("runs/explicit_sparse_bible")  # the app of the card's pipeline_tag
    print(app.translate("In the beginning God created the heaven and the earth."))
    app.blocks().launch()
"""

from .apps import (
    DEMO_TASKS,
    DEMOS,
    Demo,
    TextClassificationDemo,
    TranslationDemo,
    ZeroShotImageDemo,
    load_demo,
    model_folder,
    task_of,
)

__all__ = [
    "DEMOS",
    "DEMO_TASKS",
    "Demo",
    "TextClassificationDemo",
    "TranslationDemo",
    "ZeroShotImageDemo",
    "load_demo",
    "model_folder",
    "task_of",
]
