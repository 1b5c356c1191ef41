"""Conversations, their messages, and the attachments of user messages."""

from __future__ import annotations

from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from project_architect_db.datagen import _text as text
from project_architect_db.datagen import _vocabulary as vocab
from project_architect_db.datagen._columns import _json, _Masked, _Pooled, _table
from project_architect_db.datagen._context import _Context
from project_architect_db.datagen._draws import (
    _US_PER_S,
    Array,
    _assign_ids,
    _codes,
    _lognormal_us,
)

_ROLES: Final = ("user", "assistant", "system", "tool")
_USER, _ASSISTANT, _SYSTEM, _TOOL = range(4)
_KIND_INDEX: Final = {kind: i for i, kind in enumerate(text.MESSAGE_KINDS)}


class _Conversations(_Context):
    """Generates conversations with their messages (as a grid per conversation) and attachments."""

    def _message_pools(self, per_kind: int) -> tuple[pa.Array, Array, Array]:
        """Pool of contents, the pool offset per (stack, kind), and each entry's UTF-8 length."""
        rng = self.shared_rng("messages")
        kinds = len(text.MESSAGE_KINDS)
        contents: list[str] = []
        offsets = np.zeros((len(self.stacks), kinds), dtype=np.int64)
        for s, stack in enumerate(self.stacks):
            for k, (role, type_) in enumerate(text.MESSAGE_KINDS):
                offsets[s, k] = len(contents)
                for _ in range(per_kind if role != "system" else 1):
                    contents.append(
                        text.message_content(rng, role, type_, project="this project", stack=stack)
                    )
        pool = pa.array(contents, pa.string())
        lengths = pc.binary_length(pool).to_numpy(zero_copy_only=False).astype(np.int64)
        return pool, offsets, lengths

    def _summary_pool(self) -> list[str]:
        return [
            text.conversation_summary(self.shared_rng(f"summary-{i}"), p, t)
            for i, (p, t) in enumerate((p, t) for p in vocab.PHASES for t in
                                       vocab.CONVERSATION_TITLES[p])
        ]  # fmt: skip

    def _metadata_pool(self, per_role: int) -> tuple[pa.Array, Array]:
        rng = self.shared_rng("message-metadata")
        values: list[str] = []
        offsets = np.zeros(len(_ROLES), dtype=np.int64)
        for r, role in enumerate(_ROLES):
            offsets[r] = len(values)
            values.extend(_json(text.message_metadata(rng, role)) for _ in range(per_role))
        return pa.array(values, pa.string()), offsets

    def _conversations(
        self, per_project: int, per_conversation: int, attachment_rate: float
    ) -> tuple[pa.Table, pa.Table, pa.Table]:
        gen = self.gen["conversations"]
        P, K = self.project_count, per_conversation
        conv_project = np.repeat(np.arange(P, dtype=np.int64), per_project)
        C = len(conv_project)
        # A conversation happens in the project's current phase or an earlier one.
        phase = (gen.random(C) * (self.project_phase[conv_project] + 1)).astype(np.int64)
        titles_per_phase = len(vocab.CONVERSATION_TITLES["requirements"])
        title_pool = [t for p in vocab.PHASES for t in vocab.CONVERSATION_TITLES[p]]
        title_index = phase * titles_per_phase + gen.integers(0, titles_per_phase, size=C)
        status = _codes(gen, (75, 20, 5), C)
        summary_pool = self.pooled("summaries", self._summary_pool)
        has_summary = gen.random(C) < 0.6
        meta_pool = [
            _json({"channel": channel, "assistant_model": model})
            for channel in ("web", "slack", "api")
            for model in vocab.ASSISTANT_MODELS
        ]
        meta_index = _codes(gen, [6 if i < 5 else 2 for i in range(len(meta_pool))], C)

        # Messages, as a (C, K) grid: roles, kinds, and pauses before each message.
        mgen = self.gen["messages"]
        has_system = mgen.random(C) < 0.25
        turn = np.arange(K, dtype=np.int64)[None, :] - has_system[:, None].astype(np.int64)
        role = np.where(turn < 0, _SYSTEM, np.where(turn % 2 == 1, _ASSISTANT, _USER))
        tool = (role == _USER) & (turn > 0) & (mgen.random((C, K)) < 0.05)
        role = np.where(tool, _TOOL, role).astype(np.int64)
        kind = self._message_kinds(mgen, role)
        pause = np.where(
            role == _USER,
            _lognormal_us(mgen, 90.0, 1.0, 4 * 3600.0, (C, K)),
            np.where(role == _SYSTEM, 50_000, _lognormal_us(mgen, 8.0, 0.6, 300.0, (C, K))),
        )
        offset = np.cumsum(pause, axis=1)
        total = offset[:, -1] if K else np.zeros(C, dtype=np.int64)
        # Fit each thread between its project's creation and a minute before now.
        room = (self.now_us - 60 * _US_PER_S) - self.project_created[conv_project]
        scale = np.minimum(1.0, room / np.maximum(total, 1))
        offset = (offset * scale[:, None]).astype(np.int64) + np.arange(1, K + 1)[None, :]
        total = offset[:, -1] if K else np.zeros(C, dtype=np.int64)
        conv_created = self.project_created[conv_project] + (
            gen.random(C) * np.maximum(room - total, 0)
        ).astype(np.int64)
        if per_project:  # the newest thread of a live project happened lately
            newest = (np.arange(P, dtype=np.int64) * per_project + per_project - 1)[
                self.project_live
            ]
            conv_created[newest] = self.recent_starts(
                self.project_created[conv_project[newest]],
                self.now_us - 60 * _US_PER_S - total[newest],
            )
        message_at = conv_created[:, None] + offset
        last_message = message_at[:, -1] if K else conv_created
        # reply links, as the appends keep them: an assistant message right after a user
        # message holds that message's time; a thread ending with a user message awaits a reply
        replies = np.zeros((C, K), dtype=bool)
        replies[:, 1:] = (role[:, 1:] == _ASSISTANT) & (role[:, :-1] == _USER)
        asked_at = np.zeros((C, K), dtype=np.int64)
        asked_at[:, 1:] = message_at[:, :-1]
        awaiting = role[:, -1] == _USER if K else np.zeros(C, dtype=bool)
        conv_ids = _assign_ids(self.id_gen, conv_created)

        conversations = _table(
            "conversations",
            {
                "id": conv_ids.halves,
                "project_id": self.project_ids[conv_project],
                "title": _Pooled(title_pool, title_index),
                "phase": _Pooled(list(vocab.PHASES), phase),
                "status": _Pooled(["active", "archived", "deleted"], status),
                "summary": _Pooled(summary_pool, title_index, ~has_summary),
                "message_count": np.full(C, K, dtype=np.int32),
                "last_message_at": _Masked(last_message, np.full(C, K == 0)),
                "awaiting_reply_since": _Masked(last_message, ~awaiting),
                "metadata": _Pooled(meta_pool, meta_index),
                "created_at": conv_created,
                "updated_at": last_message,
            },
            conv_ids.order,
        )

        # Flatten the grid: row r is message (r // K, r % K).
        M = C * K
        msg_conv = np.repeat(np.arange(C, dtype=np.int64), K)
        role_flat, kind_flat, at_flat = role.ravel(), kind.ravel(), message_at.ravel()
        # sized by the whole dataset, so every batch draws from the same pools
        per_kind = 24 if self.shared.messages >= 10_000 else 6
        pool, pool_offset, pool_length = self.pooled(
            f"messages-{per_kind}", lambda: self._message_pools(per_kind)
        )
        stack = self.project_stack[conv_project][msg_conv]
        content_index = pool_offset[stack, kind_flat] + np.where(
            role_flat == _SYSTEM, 0, mgen.integers(0, per_kind, size=M)
        )
        # System prompts name the conversation's project: one per conversation, appended to
        # the pool and picked by conversation.
        system_prompts = pc.binary_join_element_wise(
            "You are an experienced software architect helping the team behind ",
            pa.array(self.project_names, pa.string()).take(pa.array(conv_project)),
            ". Be concise, state trade-offs, and ask before assuming requirements.",
            "",
        )
        is_system = role_flat == _SYSTEM
        content_index = np.where(is_system, len(pool) + msg_conv, content_index)
        full_pool = pa.concat_arrays([pool, system_prompts.cast(pa.string())])
        lengths = np.concatenate(
            [pool_length, pc.binary_length(system_prompts).to_numpy(zero_copy_only=False)]
        ).astype(np.int64)
        tokens = np.maximum(
            1, np.rint(lengths[content_index] / 4 * mgen.uniform(0.85, 1.15, size=M))
        ).astype(np.int32)
        meta_pool_values, meta_offset = self.pooled(
            "message-metadata", lambda: self._metadata_pool(64)
        )
        meta_index_msg = meta_offset[role_flat] + mgen.integers(0, 64, size=M)
        msg_ids = _assign_ids(self.id_gen, at_flat)
        msg_project = conv_project[msg_conv]
        messages = _table(
            "messages",
            {
                "id": msg_ids.halves,
                "conversation_id": conv_ids.halves[msg_conv],
                "project_id": self.project_ids[msg_project],
                "sequence": np.tile(np.arange(1, K + 1, dtype=np.int32), C),
                "role": _Pooled(list(_ROLES), role_flat),
                "content": _Pooled(full_pool, content_index),
                "type": _Pooled([t for _, t in text.MESSAGE_KINDS], kind_flat),
                "token_count": tokens,
                "metadata": _Pooled(meta_pool_values, meta_index_msg),
                "created_at": at_flat,
                "asked_at": _Masked(asked_at.ravel(), ~replies.ravel()),
            },
            msg_ids.order,
        )
        attachments = self._attachments(
            attachment_rate, role_flat, at_flat, msg_ids.halves, msg_conv, conv_ids.halves,
            msg_project,
        )  # fmt: skip
        return conversations, messages, attachments

    @staticmethod
    def _message_kinds(gen: np.random.Generator, role: Array) -> Array:
        kind = np.zeros(role.shape, dtype=np.int64)
        draw = gen.random(role.shape)
        for r, name in enumerate(_ROLES):
            choices = text.MESSAGE_KIND_WEIGHTS[name]
            codes = np.array([_KIND_INDEX[(name, t)] for t, _ in choices])
            cumulative = np.cumsum([w for _, w in choices])
            cumulative = cumulative / cumulative[-1]
            mask = role == r
            picked = np.searchsorted(cumulative, draw[mask], side="right")
            kind[mask] = codes[np.minimum(picked, len(codes) - 1)]
        return kind

    def _attachments(
        self,
        rate: float,
        role: Array,
        message_at: Array,
        message_ids: Array,
        msg_conv: Array,
        conv_ids: Array,
        msg_project: Array,
    ) -> pa.Table:
        gen = self.gen["attachments"]
        chosen = np.flatnonzero((role == _USER) & (gen.random(len(role)) < rate))
        n = len(chosen)
        kinds = vocab.ATTACHMENT_TYPES
        kind = gen.integers(0, len(kinds), size=n)
        medians = np.array(
            [{"application/pdf": 4e5, "image/png": 2.5e5, "image/jpeg": 9e5}.get(k[0], 2e4)
             for k in kinds]
        )  # fmt: skip
        size = np.minimum(np.exp(np.log(medians[kind]) + gen.normal(0.0, 1.0, size=n)), 5e7).astype(
            np.int64
        )
        files = pa.array([f"{base}.{ext}" for _, ext, base in kinds], pa.string())
        meta_pool = [_json({"original_name": f"{base}.{ext}"}) for _, ext, base in kinds]
        url = pc.binary_join_element_wise(
            "https://files.example.com/uploads/",
            pa.array(self.project_slugs, pa.string()).take(pa.array(msg_project[chosen])),
            "/",
            pa.array(np.arange(1, n + 1, dtype=np.int64)).cast(pa.string()),
            "-",
            files.take(pa.array(kind)),
            "",
        )
        created = message_at[chosen]
        ids = _assign_ids(self.id_gen, created)
        return _table(
            "attachments",
            {
                "id": ids.halves,
                "message_id": message_ids[chosen],
                "conversation_id": conv_ids[msg_conv[chosen]],
                "project_id": self.project_ids[msg_project[chosen]],
                "url": url.cast(pa.string()),
                "file_type": _Pooled([k[0] for k in kinds], kind),
                "size_bytes": size,
                "metadata": _Pooled(meta_pool, kind),
                "created_at": created,
            },
            ids.order,
        )
