"""One Gradio app per task, built from a run folder or a Hub model repo. Each app is a small class whose methods
are plain Python (``translate``, ``classify``; what the tests call and compare with the transformers pipeline) and
whose ``blocks()`` lays them out as a ``gradio.Blocks`` page. ``load_demo`` picks the app from the model card's
``pipeline_tag``, as the Hub picks a model's widget."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..modeling.validation import check_choice
from .plots import cross_attention_figure, label_graph_figure

DEFAULT_TEMPLATE = "This is a photo of {}."  # transformers' zero-shot-image-classification default


def import_gradio():
    """``gradio``, or an ImportError naming the extra that installs it."""
    try:
        import gradio
    except ImportError as error:
        raise ImportError("the lanco-hf demo needs gradio: pip install 'lanco-hf[demo]'") from error
    return gradio


def model_folder(model: str | Path) -> Path:
    """A local folder as it is, or a Hub model repo id downloaded (``huggingface_hub.snapshot_download``)."""
    path = Path(model)
    if path.is_dir():
        return path
    if path.exists() or str(model).startswith((".", "/", "~")):
        raise ValueError(f"model: {model} is not a folder (give a run folder or a Hub repo id such as USER/NAME)")
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(str(model)))


def task_of(folder: Path) -> str:
    """The ``pipeline_tag`` of the folder's model card, one of ``DEMO_TASKS``."""
    from huggingface_hub import metadata_load

    readme = folder / "README.md"
    tag = (metadata_load(readme) or {}).get("pipeline_tag") if readme.exists() else None
    if tag not in DEMOS:
        found = f"pipeline_tag {tag!r}" if tag else "no pipeline_tag"
        raise ValueError(
            f"task: the model card of {folder} has {found}; the demo has apps for {', '.join(DEMOS)} "
            "(pass --task to choose one)"
        )
    return tag


def _read_results(folder: Path) -> dict:
    path = folder / "results.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


class Demo:
    """A task's app: ``folder`` holds the model; ``title`` heads the page."""

    task: str
    description: str

    def __init__(self, folder: str | Path, title: str | None = None):
        self.folder = Path(folder)
        self.title = title or self.folder.name
        self.results = _read_results(self.folder)

    def blocks(self):
        """The app as a ``gradio.Blocks`` page (``.launch()`` serves it)."""
        gr = import_gradio()
        with gr.Blocks(title=f"{self.title} · lanco-hf") as page:
            gr.Markdown(f"# {self.title}\n\n{self.description}")
            self.layout(gr)
        return page

    def layout(self, gr) -> None:
        raise NotImplementedError


def _shown_errors(function):
    """``function`` with its ValueErrors shown in the page (``gradio.Error``) instead of a generic failure."""

    def wrapper(*args):
        gr = import_gradio()
        try:
            return function(*args)
        except ValueError as error:
            raise gr.Error(str(error)) from error

    wrapper.__name__ = function.__name__
    return wrapper


class TranslationDemo(Demo):
    """A seq2seq model: the translation (the model's saved generation settings, as the ``translation`` pipeline
    decodes) and its encoder-decoder attention, one heat-map per layer and head, the top-k pattern outlined when
    the cross-attention is explicit sparse."""

    task = "translation"
    description = (
        "Type a sentence: the model translates it with its saved generation settings. The heat-maps show how much "
        "each output token (row) attends to each source token (column) in every decoder layer and head; with "
        "explicit sparse (top-k) cross-attention the kept entries are outlined in red."
    )

    def __init__(self, folder: str | Path, title: str | None = None):
        super().__init__(folder, title)
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        self.model = AutoModelForSeq2SeqLM.from_pretrained(self.folder).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(self.folder)
        topk_for = getattr(self.model.config, "topk_for", None)
        self.cross_topk = topk_for("cross") if topk_for is not None else None

    @torch.no_grad()
    def _generate(self, text: str) -> tuple[dict, torch.Tensor, str]:
        if not isinstance(text, str) or not text.strip():
            raise ValueError("text: enter a sentence to translate")
        inputs = self.tokenizer(text, return_tensors="pt")
        output_ids = self.model.generate(**inputs)
        return inputs, output_ids, self.tokenizer.batch_decode(output_ids, skip_special_tokens=True)[0].strip()

    def translate(self, text: str) -> str:
        """The translation of ``text``, as ``pipeline("translation")`` gives it."""
        return self._generate(text)[2]

    @torch.no_grad()
    def translate_with_attention(self, text: str) -> tuple[str, np.ndarray, list[str], list[str]]:
        """The translation, the cross-attention probabilities (layers, heads, output tokens, source tokens) of the
        generated tokens (a forward pass with them as decoder input), and the source and output token strings."""
        inputs, output_ids, translation = self._generate(text)
        outputs = self.model(**inputs, decoder_input_ids=output_ids[:, :-1], output_attentions=True)
        weights = torch.stack([layer[0] for layer in outputs.cross_attentions]).float().numpy()
        return translation, weights, self.token_strings(inputs["input_ids"][0]), self.token_strings(output_ids[0, 1:])

    def token_strings(self, ids: torch.Tensor) -> list[str]:
        """Each token as text, or as the tokenizer's symbol where it is part of a multi-byte character."""
        ids = ids.tolist()
        texts = [self.tokenizer.decode([token]) for token in ids]
        symbols = self.tokenizer.convert_ids_to_tokens(ids)
        return [symbol if "\ufffd" in text else text for text, symbol in zip(texts, symbols)]

    def translate_and_plot(self, text: str):
        translation, weights, source, target = self.translate_with_attention(text)
        return translation, cross_attention_figure(weights, source, target, self.cross_topk)

    def layout(self, gr) -> None:
        with gr.Row():
            source = gr.Textbox(label="Source sentence", lines=2, elem_id="source")
            translation = gr.Textbox(label="Translation", lines=2, elem_id="translation", interactive=False)
        submit = gr.Button("Translate", variant="primary", elem_id="submit")
        topk = f"; the top-{self.cross_topk} kept entries outlined" if self.cross_topk else ""
        gr.Markdown(f"**Encoder-decoder attention** per decoder layer and head{topk}")
        plot = gr.Plot(show_label=False, elem_id="attention")  # the label would cover the first panel's title
        for trigger in (submit.click, source.submit):
            trigger(_shown_errors(self.translate_and_plot), inputs=source, outputs=[translation, plot])


class TextClassificationDemo(Demo):
    """A sequence classifier through the ``text-classification`` pipeline (every label's score; independent
    sigmoids for a multi-label model), and the label graph ``G`` a label-graph model learned."""

    task = "text-classification"
    description = (
        "Type a text: the model scores every label (independent sigmoid scores for a multi-label model; the labels "
        "at or above its decision threshold are listed). Below: the label-correlation graph it learned."
    )

    def __init__(self, folder: str | Path, title: str | None = None):
        super().__init__(folder, title)
        from transformers import pipeline

        self.classifier = pipeline("text-classification", model=str(self.folder), top_k=None, device="cpu")
        self.model = self.classifier.model

    def classify(self, text: str) -> dict[str, float]:
        """Every label's score, as ``pipeline("text-classification", top_k=None)`` gives them."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError("text: enter a text to classify")
        (scores,) = self.classifier([text])
        return {entry["label"]: entry["score"] for entry in scores}

    def predicted(self, scores: dict[str, float]) -> list[str]:
        """The labels at or above ``config.threshold`` (multi-label), else the best label."""
        threshold = getattr(self.model.config, "threshold", None)
        if threshold is None or self.model.config.problem_type != "multi_label_classification":
            return [max(scores, key=scores.get)]
        return [label for label, score in scores.items() if score >= threshold]

    def classify_and_predict(self, text: str) -> tuple[dict[str, float], str]:
        scores = self.classify(text)
        return scores, ", ".join(self.predicted(scores)) or "(none)"

    @torch.no_grad()
    def label_graph(self) -> np.ndarray | None:
        """The learned label graph ``G`` (labels x labels), or ``None`` for a model without one."""
        graph = getattr(self.model, "graph", None)
        return graph().float().cpu().numpy() if callable(graph) else None

    def layout(self, gr) -> None:
        text = gr.Textbox(label="Text", lines=3, elem_id="text")
        submit = gr.Button("Classify", variant="primary", elem_id="submit")
        with gr.Row():
            scores = gr.Label(label="Label scores", num_top_classes=10, elem_id="scores")
            predicted = gr.Textbox(label="Predicted labels", elem_id="predicted", interactive=False)
        graph = self.label_graph()
        if graph is not None:
            names = [self.model.config.id2label[index] for index in range(len(graph))]
            gr.Markdown("**Learned label graph** (which labels support which)")
            gr.Plot(label_graph_figure(graph, names), show_label=False, elem_id="label-graph")
        for trigger in (submit.click, text.submit):
            trigger(_shown_errors(self.classify_and_predict), inputs=text, outputs=[scores, predicted])


class ZeroShotImageDemo(Demo):
    """A CLIP-like model through the ``zero-shot-image-classification`` pipeline: an image and candidate labels
    (any labels: the open vocabulary that "Delving into the Openness of CLIP" measures)."""

    task = "zero-shot-image-classification"
    description = (
        "Upload an image and type candidate labels separated by commas: the model scores each label through the "
        "prompt template (softmax over the candidates)."
    )

    def __init__(self, folder: str | Path, title: str | None = None):
        super().__init__(folder, title)
        from transformers import pipeline

        self.classifier = pipeline("zero-shot-image-classification", model=str(self.folder), device="cpu")
        templates = self.results.get("zero_shot", {}).get("templates") or [DEFAULT_TEMPLATE]
        self.template = templates[0]

    def classify(self, image: Any, candidate_labels: str, template: str | None = None) -> dict[str, float]:
        """Each candidate label's score, as ``pipeline("zero-shot-image-classification")`` gives them;
        ``candidate_labels`` is comma-separated."""
        template = self.template if template is None else template
        if image is None:
            raise ValueError("image: upload an image to classify")
        labels = [label.strip() for label in (candidate_labels or "").split(",") if label.strip()]
        if not labels:
            raise ValueError("candidate labels: give at least one label, separated by commas")
        if "{}" not in template:
            raise ValueError(f"template: {template!r} has no {{}} where the label goes, e.g. {DEFAULT_TEMPLATE!r}")
        results = self.classifier(image, candidate_labels=labels, hypothesis_template=template)
        return {entry["label"]: entry["score"] for entry in results}

    def layout(self, gr) -> None:
        with gr.Row():
            image = gr.Image(label="Image", type="pil", elem_id="image")
            with gr.Column():
                labels = gr.Textbox(label="Candidate labels (comma-separated)", elem_id="labels")
                template = gr.Textbox(label="Prompt template", value=self.template, elem_id="template")
                submit = gr.Button("Classify", variant="primary", elem_id="submit")
        scores = gr.Label(label="Label scores", elem_id="scores")
        submit.click(_shown_errors(self.classify), inputs=[image, labels, template], outputs=scores)


DEMOS: dict[str, type[Demo]] = {app.task: app for app in (TranslationDemo, TextClassificationDemo, ZeroShotImageDemo)}
DEMO_TASKS = tuple(DEMOS)


def load_demo(model: str | Path, task: str | None = None, title: str | None = None) -> Demo:
    """The app of ``model`` (a run folder or a Hub model repo id) for ``task`` (default: the card's
    ``pipeline_tag``)."""
    if task is not None:
        check_choice("task", task, DEMO_TASKS)
    folder = model_folder(model)
    title = title or (folder.name if Path(model).is_dir() else str(model))
    return DEMOS[task or task_of(folder)](folder, title=title)
