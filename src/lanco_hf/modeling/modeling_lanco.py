"""The shared lanco encoder-decoder skeleton (Vaswani et al. 2017, fairseq / Marian layout).

Every lanco seq2seq architecture is this skeleton with a different config: the layers read ``norm_type``,
``normalize_before`` and ``attn_topk`` from it, ``muse_variant`` picks a registered layer variant
(``layers.layer_classes``: the standard layers, or those ``muse.py`` registers, which also mark their own
initialisation), and ``cross_view_routing`` which encoder layer each decoder layer's cross-attention reads.
Architectures subclass ``LancoModel`` / ``LancoForConditionalGeneration`` and override only what their paper changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch
from torch import nn
from transformers import GenerationMixin, PreTrainedModel
from transformers import initialization as init
from transformers.cache_utils import Cache, DynamicCache, EncoderDecoderCache
from transformers.modeling_outputs import (
    BaseModelOutput,
    BaseModelOutputWithPastAndCrossAttentions,
    Seq2SeqLMOutput,
    Seq2SeqModelOutput,
)
from transformers.utils.deprecation import deprecate_kwarg
from transformers.utils.generic import can_return_tuple

from .auto_map import AutoMapMixin
from .configuration_lanco import LancoSeq2SeqConfig
from .hub_card import ModelCardMixin
from .layers import LancoLayer, layer_classes, make_norm
from .muse import MUSE_LAYER_VARIANTS  # noqa: F401  (registers MUSE's layers for every lanco config)
from .pipeline_translation import PIPELINE_SPEC
from .validation import check_mask_shape, check_token_ids


def shift_tokens_right(labels: torch.Tensor, pad_token_id: int, decoder_start_token_id: int) -> torch.Tensor:
    """Decoder inputs from labels: prepend the start token, drop the last token, map -100 to padding."""
    shifted = labels.new_full(labels.shape, decoder_start_token_id)
    shifted[:, 1:] = labels[:, :-1]
    return shifted.masked_fill(shifted == -100, pad_token_id)


# transformers 5.24 renamed the generation cache ``past_key_values`` to ``cache`` (forward argument and output field);
# the models accept both names and write the output field the installed version has.
CACHE_FIELD = "cache" if "cache" in {field.name for field in fields(Seq2SeqLMOutput)} else "past_key_values"


def accepts_old_cache_name(forward):
    """Where the installed transformers calls the cache ``cache``, a caller's ``past_key_values=`` is renamed with the
    deprecation warning transformers' own models give (``deprecate_kwarg``); older 5.x versions pass it unchanged."""
    if CACHE_FIELD == "cache":
        return deprecate_kwarg("past_key_values", version="5.40.0", new_name="cache")(forward)
    return forward


def padding_mask(attention_mask: torch.Tensor | None) -> torch.Tensor | None:
    """Boolean key mask (``True`` = real token) from a 0/1 attention mask; ``None`` when nothing is padded."""
    if attention_mask is None:
        return None
    mask = attention_mask.bool()
    return None if bool(mask.all()) else mask


def seq2seq_cross_entropy(
    logits: torch.Tensor, labels: torch.Tensor, num_items_in_batch: int | torch.Tensor | None = None
) -> torch.Tensor:
    """Token-level cross-entropy; ``-100`` labels are ignored. With ``num_items_in_batch`` the summed loss is
    divided by it (what the Trainer passes so that gradient accumulation and DDP equal one big batch)."""
    loss = nn.functional.cross_entropy(
        logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100, reduction="sum"
    )
    if num_items_in_batch is None:
        num_items_in_batch = (labels != -100).sum()
    if torch.is_tensor(num_items_in_batch):
        num_items_in_batch = num_items_in_batch.to(loss.device)
    return loss / num_items_in_batch


class SinusoidalPositionalEmbedding(nn.Module):
    """Parameter-free sinusoidal positions (sines in the first half, cosines in the second), computed for the
    positions asked, so no table depends on the maximum length."""

    def __init__(self, embedding_dim: int):
        super().__init__()
        self.embedding_dim = embedding_dim

    def forward(self, position_ids: torch.Tensor) -> torch.Tensor:
        half = self.embedding_dim // 2
        exponent = torch.arange(half, device=position_ids.device, dtype=torch.float32) / half
        angles = position_ids.float().unsqueeze(-1) / (10000.0**exponent)
        return torch.cat([angles.sin(), angles.cos()], dim=-1)


class LancoPreTrainedModel(ModelCardMixin, AutoMapMixin, PreTrainedModel):
    config_class = LancoSeq2SeqConfig
    base_model_prefix = "model"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _no_split_modules = ["LancoEncoderLayer", "LancoDecoderLayer"]

    def __init__(self, config: LancoSeq2SeqConfig, *inputs, **kwargs):
        config.validate_lanco()  # also catches fields changed after the config was built
        super().__init__(config, *inputs, **kwargs)

    def post_init(self):
        # every layer stays on one device under a device_map, whichever variant the config picked
        self._no_split_modules = sorted(
            {*(self._no_split_modules or []), *(type(m).__name__ for m in self.modules() if isinstance(m, LancoLayer))}
        )
        super().post_init()

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """fairseq's Transformer initialisation (Xavier-uniform projections, zero biases, ``N(0, d^-1/2)``
        embeddings), or with ``config.init_std`` set, transformers' BART / Marian one (every projection and embedding
        ``N(0, init_std)``, zero biases). A projection marked with ``kaiming_a`` by its layer (MUSE's, as the official
        code does) gets ``kaiming_uniform(a=kaiming_a)`` instead; a module with its own rule
        (``initialize_parameters``) applies it."""
        std = self.config.init_std
        if isinstance(module, nn.Linear):
            kaiming_a = getattr(module, "kaiming_a", None)
            if kaiming_a is not None:
                init.kaiming_uniform_(module.weight, a=kaiming_a)
            elif std is not None:
                init.normal_(module.weight, mean=0.0, std=std)
            else:
                init.xavier_uniform_(module.weight)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif hasattr(module, "initialize_parameters"):
            module.initialize_parameters()
        elif isinstance(module, nn.Embedding):
            init.normal_(module.weight, mean=0.0, std=std or self.config.d_model**-0.5)
            if module.padding_idx is not None and not getattr(module.weight, "_is_hf_initialized", False):
                init.zeros_(module.weight[module.padding_idx])
        elif isinstance(module, nn.LayerNorm):
            init.ones_(module.weight)
            init.zeros_(module.bias)


class LancoStack(nn.Module):
    """What the encoder and decoder share: token + position embeddings, the layers, the final pre-norm."""

    def __init__(self, config: LancoSeq2SeqConfig, layers: list[nn.Module]):
        super().__init__()
        self.config = config
        self.embed_tokens = nn.Embedding(config.vocab_size, config.d_model, config.pad_token_id)
        self.embed_scale = math.sqrt(config.d_model) if config.scale_embedding else 1.0
        if config.position_embedding_type == "learned":
            self.embed_positions = nn.Embedding(config.max_position_embeddings, config.d_model)
        else:
            self.embed_positions = SinusoidalPositionalEmbedding(config.d_model)
        self.layers = nn.ModuleList(layers)
        self.layer_norm = make_norm(config) if config.normalize_before else None

    def embed(
        self, input_ids: torch.Tensor | None, inputs_embeds: torch.Tensor | None, past_length: int = 0
    ) -> torch.Tensor:
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids and inputs_embeds")
        if inputs_embeds is None:
            check_token_ids("input ids", input_ids, self.config.vocab_size)
            inputs_embeds = self.embed_tokens(input_ids)
        length = inputs_embeds.shape[1]
        if past_length + length > self.config.max_position_embeddings:
            raise ValueError(
                f"sequence length {past_length + length} exceeds max_position_embeddings="
                f"{self.config.max_position_embeddings}"
            )
        positions = torch.arange(past_length, past_length + length, device=inputs_embeds.device)
        hidden_states = inputs_embeds * self.embed_scale + self.embed_positions(positions).to(inputs_embeds.dtype)
        return nn.functional.dropout(hidden_states, p=self.config.dropout, training=self.training)

    def finish(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.layer_norm(hidden_states) if self.layer_norm is not None else hidden_states


@dataclass
class LancoEncoderOutput(BaseModelOutput):
    r"""
    layer_states (`torch.FloatTensor` of shape `(batch_size, encoder_layers, sequence_length, d_model)`, *optional*):
        The output of every encoder layer as the decoder's cross-attention reads it (in pre-norm models normalised by
        the encoder's final norm), kept whenever `cross_view_routing` is not `"last"`, whatever `output_hidden_states`
        says. One tensor, so that `generate()` expands it for beam search like `last_hidden_state`.
    """

    layer_states: torch.FloatTensor | None = None


class LancoEncoder(LancoStack):
    def __init__(self, config: LancoSeq2SeqConfig):
        layer_class = layer_classes(config)[0]
        super().__init__(config, [layer_class(config, i) for i in range(config.encoder_layers)])

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        **kwargs,
    ) -> LancoEncoderOutput:
        hidden_states = self.embed(input_ids, inputs_embeds)
        check_mask_shape("attention_mask", attention_mask, hidden_states.shape[:2], "the source (batch, length)")
        key_padding_mask = padding_mask(attention_mask)
        all_hidden, all_attn = [hidden_states], []
        for layer in self.layers:
            hidden_states, weights = layer(hidden_states, key_padding_mask, bool(output_attentions))
            all_hidden.append(hidden_states)
            all_attn.append(weights)
        hidden_states = self.finish(hidden_states)
        all_hidden[-1] = hidden_states
        layer_states = None
        if self.config.cross_view_routing != "last":
            layer_states = torch.stack([self.finish(state) for state in all_hidden[1:-1]] + [hidden_states], dim=1)
        return LancoEncoderOutput(
            last_hidden_state=hidden_states,
            hidden_states=tuple(all_hidden) if output_hidden_states else None,
            attentions=tuple(all_attn) if output_attentions else None,
            layer_states=layer_states,
        )


class LancoDecoder(LancoStack):
    def __init__(self, config: LancoSeq2SeqConfig):
        layer_class = layer_classes(config)[1]
        super().__init__(config, [layer_class(config, i) for i in range(config.decoder_layers)])
        self.source_layers = config.cross_view_source_layers()

    def encoder_states_for_layers(self, encoder_outputs: BaseModelOutput) -> list[torch.Tensor]:
        """The encoder state each decoder layer's cross-attention reads, following
        ``config.cross_view_source_layers()``: the last encoder layer's output for every decoder layer with routing
        ``"last"``, else ``encoder_outputs.layer_states[:, source - 1]``."""
        if self.config.cross_view_routing == "last":
            return [encoder_outputs.last_hidden_state] * len(self.layers)
        layer_states = getattr(encoder_outputs, "layer_states", None)
        if layer_states is None:
            raise ValueError(
                f"cross_view_routing={self.config.cross_view_routing!r} needs the output of every encoder layer: pass "
                "the encoder_outputs of this model's encoder (model.get_encoder()), which carry `layer_states`"
            )
        return [layer_states[:, source - 1] for source in self.source_layers]

    def forward(
        self,
        input_ids: torch.Tensor | None,
        encoder_outputs: BaseModelOutput,
        encoder_attention_mask: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        past_key_values: Cache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        use_cache: bool = False,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
    ) -> BaseModelOutputWithPastAndCrossAttentions:
        if use_cache and past_key_values is None:
            past_key_values = EncoderDecoderCache(DynamicCache(config=self.config), DynamicCache(config=self.config))
        past_length = past_key_values.get_seq_length() if past_key_values is not None else 0
        hidden_states = self.embed(input_ids, inputs_embeds, past_length)
        target_shape = (hidden_states.shape[0], past_length + hidden_states.shape[1])
        source_shape = encoder_outputs.last_hidden_state.shape[:2]
        check_mask_shape("decoder_attention_mask", attention_mask, target_shape, "(batch, past + target length)")
        check_mask_shape("attention_mask", encoder_attention_mask, source_shape, "the source (batch, length)")
        self_padding_mask = padding_mask(attention_mask)
        encoder_padding_mask = padding_mask(encoder_attention_mask)
        routed_states = self.encoder_states_for_layers(encoder_outputs)

        all_hidden, all_self, all_cross = [hidden_states], [], []
        for layer, encoder_states in zip(self.layers, routed_states):
            hidden_states, self_weights, cross_weights = layer(
                hidden_states,
                encoder_states,
                self_padding_mask,
                encoder_padding_mask,
                past_key_values=past_key_values,
                output_attentions=bool(output_attentions),
            )
            all_hidden.append(hidden_states)
            all_self.append(self_weights)
            all_cross.append(cross_weights)
        hidden_states = self.finish(hidden_states)
        all_hidden[-1] = hidden_states
        return BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden_states,
            **{CACHE_FIELD: past_key_values if use_cache else None},
            hidden_states=tuple(all_hidden) if output_hidden_states else None,
            attentions=tuple(all_self) if output_attentions else None,
            cross_attentions=tuple(all_cross) if output_attentions else None,
        )


class LancoModel(LancoPreTrainedModel):
    """The bare encoder-decoder, returning the decoder's last hidden states."""

    encoder_class = LancoEncoder
    decoder_class = LancoDecoder
    _tied_weights_keys = {"decoder.embed_tokens.weight": "encoder.embed_tokens.weight"}

    def __init__(self, config: LancoSeq2SeqConfig):
        super().__init__(config)
        self.encoder = self.encoder_class(config)
        self.decoder = self.decoder_class(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.encoder.embed_tokens

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.encoder.embed_tokens = value
        if self.config.tie_word_embeddings:
            self.decoder.embed_tokens = value

    @can_return_tuple
    @accepts_old_cache_name
    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        decoder_input_ids: torch.Tensor | None = None,
        decoder_attention_mask: torch.Tensor | None = None,
        encoder_outputs: BaseModelOutput | tuple | None = None,
        past_key_values: Cache | None = None,
        cache: Cache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        decoder_inputs_embeds: torch.Tensor | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        **kwargs,
    ) -> Seq2SeqModelOutput:
        output_attentions = self.config.output_attentions if output_attentions is None else output_attentions
        output_hidden_states = (
            self.config.output_hidden_states if output_hidden_states is None else output_hidden_states
        )
        use_cache = self.config.use_cache if use_cache is None else use_cache
        if encoder_outputs is None:
            encoder_outputs = self.encoder(
                input_ids=input_ids,
                attention_mask=attention_mask,
                inputs_embeds=inputs_embeds,
                output_attentions=output_attentions,
                output_hidden_states=output_hidden_states,
            )
        elif not isinstance(encoder_outputs, BaseModelOutput):
            encoder_outputs = BaseModelOutput(*encoder_outputs)
        decoder_outputs = self.decoder(
            decoder_input_ids,
            encoder_outputs,
            encoder_attention_mask=attention_mask,
            attention_mask=decoder_attention_mask,
            past_key_values=cache if past_key_values is None else past_key_values,
            inputs_embeds=decoder_inputs_embeds,
            use_cache=use_cache,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
        )
        return Seq2SeqModelOutput(
            last_hidden_state=decoder_outputs.last_hidden_state,
            **{CACHE_FIELD: getattr(decoder_outputs, CACHE_FIELD)},
            decoder_hidden_states=decoder_outputs.hidden_states,
            decoder_attentions=decoder_outputs.attentions,
            cross_attentions=decoder_outputs.cross_attentions,
            encoder_last_hidden_state=encoder_outputs.last_hidden_state,
            encoder_hidden_states=encoder_outputs.hidden_states if output_hidden_states else None,
            encoder_attentions=encoder_outputs.attentions,
        )


class LancoForConditionalGeneration(LancoPreTrainedModel, GenerationMixin):
    """The encoder-decoder with a language-modelling head (tied to the embeddings by default)."""

    base_model_class = LancoModel
    _tied_weights_keys = {
        "lm_head.weight": "model.encoder.embed_tokens.weight",
        "model.decoder.embed_tokens.weight": "model.encoder.embed_tokens.weight",
    }

    def __init__(self, config: LancoSeq2SeqConfig):
        super().__init__(config)
        self.model = self.base_model_class(config)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.model.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.model.set_input_embeddings(value)

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head

    def set_output_embeddings(self, value: nn.Linear) -> None:
        self.lm_head = value

    def save_pretrained(self, save_directory, *args, **kwargs):
        """Declare the translation pipeline in ``config.custom_pipelines``; its file is a sibling import, so
        transformers copies it next to the weights with the other remote-code files."""
        self.config.custom_pipelines = {"translation": PIPELINE_SPEC}
        return super().save_pretrained(save_directory, *args, **kwargs)

    def prepare_decoder_input_ids_from_labels(self, labels: torch.Tensor) -> torch.Tensor:
        if self.config.pad_token_id is None:
            raise ValueError(
                "pad_token_id=None: labels can only be shifted into decoder_input_ids with an integer pad_token_id in "
                f"[0, vocab_size={self.config.vocab_size}); set it or pass decoder_input_ids"
            )
        return shift_tokens_right(labels, self.config.pad_token_id, self.config.decoder_start_token_id)

    @can_return_tuple
    @accepts_old_cache_name
    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        decoder_input_ids: torch.Tensor | None = None,
        decoder_attention_mask: torch.Tensor | None = None,
        encoder_outputs: BaseModelOutput | tuple | None = None,
        past_key_values: Cache | None = None,
        cache: Cache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        decoder_inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        num_items_in_batch: int | torch.Tensor | None = None,
        **kwargs,
    ) -> Seq2SeqLMOutput:
        r"""
        labels (`torch.LongTensor` of shape `(batch_size, target_length)`, *optional*):
            Target token ids; `-100` is ignored. Without `decoder_input_ids` they are shifted right to form them.
        num_items_in_batch (`int`, *optional*):
            Number of label tokens in the whole (accumulated, all-rank) batch; passed by the Trainer so that the
            loss is a sum divided by it.
        """
        if labels is not None:
            self._check_labels(labels)
            use_cache = False
            if decoder_input_ids is None and decoder_inputs_embeds is None:
                decoder_input_ids = self.prepare_decoder_input_ids_from_labels(labels)
        outputs = self.model(
            input_ids,
            attention_mask=attention_mask,
            decoder_input_ids=decoder_input_ids,
            decoder_attention_mask=decoder_attention_mask,
            encoder_outputs=encoder_outputs,
            **{CACHE_FIELD: cache if past_key_values is None else past_key_values},
            inputs_embeds=inputs_embeds,
            decoder_inputs_embeds=decoder_inputs_embeds,
            use_cache=use_cache,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
        )
        logits = self.lm_head(outputs.last_hidden_state)
        loss = seq2seq_cross_entropy(logits, labels, num_items_in_batch) if labels is not None else None
        return Seq2SeqLMOutput(
            loss=loss,
            logits=logits,
            **{CACHE_FIELD: getattr(outputs, CACHE_FIELD)},
            decoder_hidden_states=outputs.decoder_hidden_states,
            decoder_attentions=outputs.decoder_attentions,
            cross_attentions=outputs.cross_attentions,
            encoder_last_hidden_state=outputs.encoder_last_hidden_state,
            encoder_hidden_states=outputs.encoder_hidden_states,
            encoder_attentions=outputs.encoder_attentions,
        )

    def _check_labels(self, labels: torch.Tensor) -> None:
        valid = labels[labels != -100]
        if valid.numel() and (valid.min() < 0 or valid.max() >= self.config.vocab_size):
            raise ValueError(
                f"labels must lie in [0, vocab_size={self.config.vocab_size}) or equal -100; got values in "
                f"[{int(valid.min())}, {int(valid.max())}]"
            )
