"""`gapbench prompts show`: the exact chat each agent of a study gets at its first turn, and with a
model, the text and token count its chat template makes of it, so a researcher can check what the
models are given before spending GPU hours.

The chats come from the same ``Dialogue`` a run uses; the second speaker's first chat holds a
stand-in for its partner's first message, which only a run can write.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from gapbench.engines.base import ChatMessage, ChatRequest
from gapbench.mazeset import MazeItem
from gapbench.protocol import Dialogue, Layout, Templates, fit_layout
from gapbench.protocol.interventions import NONE, overlay_name
from gapbench.study import TALKING, Study, load_config
from gapbench.transcript import Condition

if TYPE_CHECKING:
    from gapbench.engines.rendering import ChatRenderer

PARTNER_STAND_IN = "<agent 1's first message>"
Agent = Literal[1, 2]


def turn_one_chat(
    templates: Templates, item: MazeItem, condition: Condition, agent: Agent, *, layout: Layout | None = None
) -> tuple[ChatMessage, ...]:
    """What ``agent`` is given at its first turn on ``item`` (agent 2: after agent 1's first message)."""
    seats = ("agent", "agent") if condition == "collab" else ("agent",)
    dialogue = Dialogue.start(
        maze=item.maze,
        views=item.views,
        condition=condition,
        seats=seats,
        templates=templates,
        layouts={"agent": layout} if layout else None,
    )
    if agent == 2:
        dialogue.add_reply(PARTNER_STAND_IN)
    return dialogue.chat()


def show_prompts(
    config_path: Path,
    *,
    condition: Condition | None = None,
    maze: int = 0,
    agent: Agent | None = None,
    model: str | None = None,
    intervention: str = NONE,
) -> str:
    """The turn-1 chats of a study's conditions (or one) on one of its mazes, as text; collaboration
    chats under one of the study's interventions (default none)."""
    from gapbench.study import load_mazes

    config, _ = load_config(config_path)
    mazes = load_mazes(config, config_path.parent)
    if not 0 <= maze < len(mazes):
        raise ValueError(f"--maze {maze}: the study has {len(mazes)} mazes; give 0 to {len(mazes) - 1}")
    item = mazes[maze]
    templates = config.protocol.load()
    overlays = {overlay_name(i): i for i in config.interventions}
    if intervention not in overlays:
        raise ValueError(
            f"--intervention {intervention}: not one of the study's interventions ({', '.join(overlays)}); add it to `interventions` or pick one of those"
        )
    conditions = (
        [condition]
        if condition
        else list(dict.fromkeys("collab" if c == "relay" else c for c in config.conditions))
    )
    if agent == 2 and all(c not in TALKING for c in conditions):
        raise ValueError("--agent 2: solo conditions have one agent; use --agent 1 or --condition collab")
    renderer = _renderer(config, model) if model else None
    layout = fit_layout(templates, renderer.renders) if renderer else templates.layout
    out = []
    if renderer is not None and layout != templates.layout:
        out.append(
            f"notice: {model}: its chat template cannot render two user turns in a row; it gets the merged layout\n"
        )
    for cond in conditions:
        talking = cond in TALKING
        for who in ((1, 2) if talking else (1,)) if agent is None else (agent,):
            if not talking and who == 2:
                continue
            shown = (
                config.templates_for(overlays[intervention], referee=cond == "referee")
                if talking
                else templates
            )
            chat = turn_one_chat(shown, item, "collab" if talking else cond, who, layout=layout)  # type: ignore[arg-type]
            role = {1: " (speaks first)", 2: " (speaks second)"}[who] if talking else ""
            block = [
                f"=== {cond} | maze {maze} of {len(mazes)} ({item.maze.size}x{item.maze.size}, id {item.id}) | agent {who}{role} | "
                f"prompts {templates.version}"
                + (f" | layout {layout}" if talking else "")
                + (f" | intervention {intervention}" if talking and intervention != NONE else "")
                + " ===\n"
            ]
            block += [f"--- {m.role}\n{m.content}\n" for m in chat]
            if renderer is not None:
                ids, _ = renderer.prompt_ids(ChatRequest(f"show/{cond}/{who}", chat))
                block.append(
                    f"--- rendered by {model}'s chat template: {len(ids)} tokens\n{renderer.render_text(chat)}\n"
                )
            out.append("".join(block))
    return "\n".join(out)  # every section ends in one newline after its text, blocks apart by a blank line


def _renderer(config: Study, model: str) -> ChatRenderer:
    """A ChatRenderer for ``model``: a key of the study's models or a registry name, card or directory."""
    from gapbench.agents import PREFIX
    from gapbench.engines.rendering import ChatRenderer
    from gapbench.registry import load_spec, load_tokenizer, prepare

    name = config.entry(model).model if model in config.models else model
    if name.startswith(PREFIX):
        raise ValueError(
            f"--model {model}: scripted agents have no chat template; they read the chats shown without --model"
        )
    spec = load_spec(name)
    return ChatRenderer(load_tokenizer(spec, prepare(spec)), template_kwargs=spec.chat_template_kwargs)
