"""The corpora of lanco-hf, built offline: ``load_corpus(name)`` returns a ``datasets.DatasetDict`` with proper
features (``lanco_hf.data.corpora``)."""

from .corpora import CORPORA, load_corpus

__all__ = ["CORPORA", "load_corpus"]
