"""The image-classification job: Fashion-MNIST (optionally long-tailed), a transformers image classifier (e.g.
``ResNetForImageClassification``) trained from scratch with ``Trainer`` and an optional lanco loss, accuracy per
class on the test split, optional max-softmax out-of-distribution detection, then weights + image processor +
model card, and a reload through ``AutoModelForImageClassification`` and the ``image-classification`` pipeline.

Grey images are fed as ``num_channels`` equal channels (3 by default), because transformers' pipeline converts
every image to RGB."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from transformers import (
    AutoConfig,
    AutoModelForImageClassification,
    TrainingArguments,
    ViTImageProcessorPil,
    pipeline,
    set_seed,
)

from ..data.fashion_mnist import CLASS_NAMES, load_fashion_mnist, load_mnist_5k, long_tailed_indices
from ..data.progress import progress_bar
from ..hub.methods import methods_of_loss
from ..hub.model_card import CardContent, CardSpec
from .arguments import ImageClassificationDataArguments, LossArguments, ModelArguments
from .hub_push import LancoTrainer
from .loss_functions import build_run_loss
from .run import (
    base_model_of,
    batch_size,
    epochs_summary,
    finish_run,
    image_widget_card_data,
    optimizer_summary,
    run_summary,
    save_widget_image,
    schedule_summary,
)
from .safe_training import train_safely
from .tasks import register_task

FASHION_MNIST_MEAN, FASHION_MNIST_STD = 0.2860, 0.3530  # pixel statistics of the training split
RELOAD_CHECK_SIZE = 32


def build_image_processor(num_channels: int) -> ViTImageProcessorPil:
    """Rescale to [0, 1] and normalise with Fashion-MNIST's statistics; no resizing (28x28 in, 28x28 out)."""
    return ViTImageProcessorPil(
        do_resize=False,
        do_rescale=True,
        do_normalize=True,
        image_mean=[FASHION_MNIST_MEAN] * num_channels,
        image_std=[FASHION_MNIST_STD] * num_channels,
        do_convert_rgb=num_channels == 3,
    )


class GreyImageDataset(torch.utils.data.Dataset):
    """uint8 grey images ``(N, H, W)`` and labels as ``{"pixel_values", "labels"}`` items, normalised as
    ``processor`` does (rescale, then per-channel mean / std) and repeated over its channels; the arrays stay
    uint8 in memory."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, processor):
        self.images = torch.tensor(images, dtype=torch.uint8)
        self.labels = torch.tensor(labels, dtype=torch.long)
        channels = len(processor.image_mean)
        self.scale = processor.rescale_factor
        self.mean = torch.tensor(processor.image_mean, dtype=torch.float32).view(channels, 1, 1)
        self.std = torch.tensor(processor.image_std, dtype=torch.float32).view(channels, 1, 1)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        pixels = self.images[index].float().unsqueeze(0) * self.scale
        return {"pixel_values": (pixels - self.mean) / self.std, "labels": self.labels[index]}


def build_model(model_args: ModelArguments):
    if model_args.model_name_or_path:
        return AutoModelForImageClassification.from_pretrained(model_args.model_name_or_path, **model_args.model_config)
    labels = {"id2label": dict(enumerate(CLASS_NAMES)), "label2id": {name: i for i, name in enumerate(CLASS_NAMES)}}
    config = AutoConfig.for_model(model_args.model_type, **{"num_channels": 3, **labels, **model_args.model_config})
    return AutoModelForImageClassification.from_config(config)


@torch.no_grad()
def predict_logits(
    model, dataset: torch.utils.data.Dataset, batch_size: int = 512, description: str | None = None
) -> torch.Tensor:
    """Logits of every item of ``dataset`` (model in eval mode, on its own device), in order; with a progress bar
    named ``description`` when given (``data.progress.progress_bar``: hidden in a run with ``disable_tqdm``)."""
    model.eval()
    device = next(model.parameters()).device
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size)
    batches = loader if description is None else progress_bar(loader, desc=description, unit="batch")
    return torch.cat([model(pixel_values=batch["pixel_values"].to(device)).logits.float().cpu() for batch in batches])


def ood_scores(in_logits: torch.Tensor, out_logits: torch.Tensor) -> dict[str, float]:
    """Max-softmax out-of-distribution detection (Hendrycks & Gimpel 2017), in-distribution as positives:
    AUROC and the false-positive rate at 95 % true-positive rate."""
    from sklearn.metrics import roc_auc_score, roc_curve

    scores = torch.cat([in_logits, out_logits]).softmax(-1).max(-1).values.numpy()
    truth = np.r_[np.ones(len(in_logits)), np.zeros(len(out_logits))]
    fpr, tpr, _ = roc_curve(truth, scores)
    return {"auroc": float(roc_auc_score(truth, scores)), "fpr_at_95_tpr": float(fpr[np.searchsorted(tpr, 0.95)])}


def image_classification_card(config, results: dict) -> CardContent:
    """The image-classification card: accuracy and mean class accuracy (``model-index``), accuracy per class next to
    its training images, out-of-distribution detection, and the training loss with its paper."""
    test, loss = results["test"], results.get("loss")
    methods = methods_of_loss(loss)
    names = [config.id2label[i] for i in range(len(results["class_counts"]))]
    loss_name = f" trained with the {methods[0].name.lower()}" if methods else ""
    return CardContent(
        metrics={"accuracy": test["accuracy"], "mean_class_accuracy": test["mean_class_accuracy"]},
        methods=methods,
        tags=["encouraging-loss"] if methods else [],
        card_data=image_widget_card_data(results["card"].get("widget")),  # an example image uploaded with the repo
        variables={
            "description": f"A {config.model_type} image classifier ({len(names)} classes){loss_name}.",
            "from_scratch": True,
            "eval_size": test["size"],
            "accuracy": test["accuracy"],
            "mean_class_accuracy": test["mean_class_accuracy"],
            "class_rows": [
                {"name": name, "train_count": count, "accuracy": accuracy}
                for name, count, accuracy in zip(names, results["class_counts"], test["class_accuracy"])
            ],
            "ood": results.get("ood"),
            "loss": loss,
        },
    )


IMAGE_CLASSIFICATION_CARD = CardSpec(
    template="image_classification.md",
    task_type="image-classification",
    pipeline_tag="image-classification",
    tags=("image-classification",),
    metrics=("accuracy",),
    metric_labels=lambda metric: metric.replace("_", " "),
    content=image_classification_card,
)


@register_task("image_classification", card=IMAGE_CLASSIFICATION_CARD)
def run_image_classification(
    model_args: ModelArguments,
    data_args: ImageClassificationDataArguments,
    training_args: TrainingArguments,
    loss_args: LossArguments | None = None,
    resume: bool = False,
) -> dict:
    """Train, evaluate, save and reload; returns the results written to ``output_dir/results.json``."""
    started = time.monotonic()
    output_dir = Path(training_args.output_dir)
    train_images, train_labels = load_fashion_mnist("train")
    test_images, test_labels = load_fashion_mnist("test")
    if data_args.imbalance_ratio > 1:
        kept = long_tailed_indices(train_labels, data_args.imbalance_ratio)
        train_images, train_labels = train_images[kept], train_labels[kept]
    if data_args.max_train_samples is not None:
        train_images, train_labels = (
            train_images[: data_args.max_train_samples],
            train_labels[: data_args.max_train_samples],
        )
    if data_args.max_test_samples is not None:
        test_images, test_labels = test_images[: data_args.max_test_samples], test_labels[: data_args.max_test_samples]
    class_counts = np.bincount(train_labels, minlength=len(CLASS_NAMES)).tolist()

    run_loss = build_run_loss(loss_args or LossArguments(), training_args)
    set_seed(training_args.seed)
    model = build_model(model_args)
    processor = build_image_processor(model.config.num_channels)
    train_set = GreyImageDataset(train_images, train_labels, processor)
    trainer = LancoTrainer(
        model=model,
        args=training_args,
        train_dataset=train_set,
        compute_loss_func=run_loss.compute_loss_func if run_loss else None,
        callbacks=run_loss.callbacks if run_loss else [],
    )
    train_result = train_safely(trainer, output_dir, resume)
    if not trainer.is_world_process_zero():
        return {}
    model.save_pretrained(output_dir)
    processor.save_pretrained(output_dir)
    trainer.save_state()

    test_set = GreyImageDataset(test_images, test_labels, processor)
    logits = predict_logits(model, test_set, training_args.per_device_eval_batch_size, description="Testing")
    correct = (logits.argmax(-1).numpy() == test_labels).astype(float)
    class_accuracy = [
        float(correct[test_labels == c].mean()) if (test_labels == c).any() else None for c in range(len(CLASS_NAMES))
    ]
    test = {
        "size": len(test_labels),
        "accuracy": float(correct.mean()),
        "mean_class_accuracy": float(np.mean([a for a in class_accuracy if a is not None])),
        "class_accuracy": class_accuracy,
    }
    ood = None
    if data_args.ood_dataset == "mnist_5k":
        ood_images, ood_labels = load_mnist_5k()
        ood_set = GreyImageDataset(ood_images, ood_labels, processor)
        ood_logits = predict_logits(
            model, ood_set, training_args.per_device_eval_batch_size, description="Scoring MNIST-5k"
        )
        ood = {"dataset": "mnist_5k", "size": len(ood_labels), **ood_scores(logits, ood_logits)}

    reload_checks = _reload_checks(output_dir, logits[:RELOAD_CHECK_SIZE], test_set, test_images, model.device)
    metrics = train_result.metrics
    results = {
        "task": "image_classification",
        "model_type": model.config.model_type,
        "num_parameters": model.num_parameters(),
        "train_size": len(train_labels),
        "class_counts": class_counts,
        "test": test,
        "ood": ood,
        "loss": run_loss.to_dict() if run_loss else None,
        "train_steps": trainer.state.global_step,
        "train_runtime_s": metrics.get("train_runtime"),
        "train_loss": metrics.get("train_loss"),
        **reload_checks,
    }
    card = {
        "dataset_name": data_args.dataset,
        "base_model": base_model_of(model_args.model_name_or_path),
        "widget": {
            "image": save_widget_image(Image.fromarray(test_images[0], mode="L"), output_dir),
            "title": CLASS_NAMES[int(test_labels[0])],
        },
        "dataset_description": _describe(data_args, len(train_labels), len(test_labels)),
        "training_summary": _training_summary(training_args, results),
    }
    return finish_run(results, output_dir, started, card=card, report=_report(results, output_dir), trainer=trainer)


def _reload_checks(
    output_dir: Path, logits: torch.Tensor, test_set: GreyImageDataset, test_images: np.ndarray, device: torch.device
) -> dict:
    """Whether the saved folder reproduces the trained model's logits through ``AutoModelForImageClassification``
    (on the training device) and its predictions through the ``image-classification`` pipeline (RGB models only)."""
    reloaded = AutoModelForImageClassification.from_pretrained(output_dir).to(device)
    subset = torch.utils.data.Subset(test_set, range(len(logits)))
    checks = {"reload_reproduces_logits": bool(torch.allclose(predict_logits(reloaded, subset), logits, atol=1e-5))}
    if reloaded.config.num_channels == 3:
        classifier = pipeline("image-classification", model=str(output_dir), device="cpu")
        images = [Image.fromarray(image, mode="L") for image in test_images[: len(logits)]]
        labels = [result[0]["label"] for result in classifier(images, top_k=1)]
        checks["pipeline_matches_model"] = labels == [reloaded.config.id2label[int(i)] for i in logits.argmax(-1)]
    return checks


def _describe(data_args: ImageClassificationDataArguments, train_size: int, test_size: int) -> str:
    shape = f", long-tailed with imbalance ratio {data_args.imbalance_ratio:g}" if data_args.imbalance_ratio > 1 else ""
    return f"Fashion-MNIST (Debian dataset-fashion-mnist; {train_size:,} train{shape}, {test_size:,} test images)"


def _training_summary(training_args: TrainingArguments, results: dict) -> dict:
    return {
        "steps": results["train_steps"],
        "epochs": epochs_summary(training_args),
        "batch size": batch_size(training_args),
        "optimizer": optimizer_summary(training_args),
        "schedule": schedule_summary(training_args),
        "loss": results["loss"]["name"] if results["loss"] else "the model's cross-entropy",
        "training images": results["train_size"],
        **run_summary(training_args.seed, results["train_runtime_s"]),
    }


def _report(results: dict, output_dir: Path) -> list[str]:
    test, ood = results["test"], results["ood"]
    return [
        f"\nTest ({test['size']} images): accuracy {100 * test['accuracy']:.2f} %, "
        f"mean class accuracy {100 * test['mean_class_accuracy']:.2f} %",
        *(
            [
                f"OOD vs {ood['dataset']}: AUROC {100 * ood['auroc']:.2f} %, "
                f"FPR@95%TPR {100 * ood['fpr_at_95_tpr']:.2f} %"
            ]
            if ood
            else []
        ),
        f"Saved to {output_dir} (weights, config, preprocessor_config.json, README.md model card, results.json)",
        f"Reloaded with AutoModelForImageClassification: logits reproduced = {results['reload_reproduces_logits']}; "
        f"image-classification pipeline agrees = {results.get('pipeline_matches_model')}",
    ]
