"""``Trainer.push_to_hub`` through lanco-hf's one upload path.

transformers' ``Trainer.push_to_hub()`` uploads the whole ``output_dir`` (minus checkpoint folders) with a
``generated_from_trainer`` card, and ``push_to_hub=True`` also pushes at every save; both upload
``training_args.bin``, the pickle ``Trainer._save`` writes next to the weights (and, with ``hub_strategy="checkpoint"``,
a checkpoint's optimizer / RNG pickles). :class:`HubPushMixin` keeps the Trainer's API and its points of pushing
(``save_model``, ``_save_checkpoint``, ``push_to_hub``) but uploads with ``lanco_hf.hub.push.push_run``: the allowlisted
files of a model repo (so ``training_args.bin`` is excluded rather than left unwritten, since a resumed run reads it
from its checkpoint) and the lanco card, the same commit ``lanco-hf push`` makes."""

from __future__ import annotations

import copy

from transformers import Seq2SeqTrainer, Trainer
from transformers.trainer_utils import HubStrategy


class HubPushMixin:
    """Mixin for a ``Trainer`` subclass (``class MyTrainer(HubPushMixin, Trainer)``): every push uploads the files
    ``lanco-hf push`` uploads, with the lanco card, and never a pickle."""

    def push_to_hub(
        self,
        commit_message: str | None = "End of training",
        blocking: bool = True,
        token: str | None = None,
        revision: str | None = None,
        private: bool | None = None,
        **kwargs,
    ):
        """Upload ``output_dir`` to ``args.hub_model_id`` like ``lanco-hf push`` (always blocking; ``kwargs``, the
        ``create_model_card`` arguments of transformers, are not used: the card is the lanco card). A finished run
        (``results.json``) is uploaded as it was saved, with its full card; a run still training saves the model
        first and gets the card of its bare model."""
        from ..hub.push import push_run
        from .run_folder import is_run_complete

        self.callback_handler.on_push_begin(self.args, self.state, self.control)
        token = token if token is not None else self.args.hub_token
        if self.hub_model_id is None:
            self.init_hf_repo(token=token, private=private)
        if not is_run_complete(self.args.output_dir):
            self.save_model(_internal_call=True)
        if not self.is_world_process_zero():
            return None
        self._finish_current_push()
        return push_run(
            self.args.output_dir,
            self.hub_model_id,
            token=token,
            commit_message=commit_message or "End of training",
            allow_incomplete=True,
            revision=revision if revision is not None else self.args.hub_revision,
        )

    def _push_from_checkpoint(self, checkpoint_folder: str) -> None:
        """The push of ``push_to_hub=True`` at each save: the checkpoint's model files and the bare model's card
        (every ``hub_strategy`` but ``end``); its optimizer, scheduler and RNG states are pickles and stay local."""
        from ..hub.push import push_run

        if not self.is_world_process_zero() or self.args.hub_strategy == HubStrategy.END:
            return
        self.callback_handler.on_push_begin(self.args, self.state, self.control)
        push_run(
            checkpoint_folder,
            self.hub_model_id,
            token=self.args.hub_token,
            commit_message=f"Training in progress, step {self.state.global_step}",
            allow_incomplete=True,
            revision=self.args.hub_revision,
        )


class LancoTrainer(HubPushMixin, Trainer):
    """transformers' ``Trainer`` whose pushes upload what ``lanco-hf push`` uploads (:class:`HubPushMixin`)."""


class LancoSeq2SeqTrainer(HubPushMixin, Seq2SeqTrainer):
    """transformers' ``Seq2SeqTrainer`` whose pushes upload what ``lanco-hf push`` uploads (:class:`HubPushMixin`)
    and whose evaluation leaves the model's generation config as it found it.

    transformers 5's ``Seq2SeqTrainer.prediction_step`` fills the model's own ``generation_config`` with the global
    defaults (``max_length=20``, ``top_k=50``, ...) to pad its outputs; from then on every ``generate`` of a model
    that sets ``max_new_tokens`` warns that both lengths are set, and the saved ``generation_config.json`` carries
    those defaults. The config is put back after each prediction step."""

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None, **gen_kwargs):
        kept = copy.deepcopy(self.model.generation_config)
        try:
            return super().prediction_step(model, inputs, prediction_loss_only, ignore_keys=ignore_keys, **gen_kwargs)
        finally:
            self.model.generation_config = kept
