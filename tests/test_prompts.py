"""Prompt fidelity: v2 carries every element of the study's prompts (STUDY.md, "Prompt elements") in
its order and nothing it did not say; goldens per condition and layout; v1 stays byte-identical;
user template files are checked and keyed by content; `gapbench prompts show`."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys

import pytest
import yaml
from prompt_goldens import CONDITIONS, GOLDEN_DIR, chats_text, golden_maze

from gapbench.protocol import Dialogue, configure, load_templates
from gapbench.results import read_results
from gapbench.rundir import run_hash
from gapbench.runner import run_experiment

# ------------------------------------------------------------------------- the study's elements
# Each element of the study's prompts as a pattern, in the study's order within each prompt.
SYSTEM_ELEMENTS = [
    r"\buser\b.*\bintermediary\b",
    r"\bpasses every message\b.*\bunchanged\b",
    r"\bdoes not read them\b",
    r"other agent begin with \"\[other agent\]:\"",
    r"user begin with \"\[user\]:\"",
    r"\bno(t add any)? prefix or suffix of your own\b",
]
TASK = [
    r"\bACTI\b",
    r"\bcollaborative maze game\b",
    r"\banother agent\b",
    r"\bgrid with walls and a goal\b",
    r"\breach the goal without hitting a wall\b",
    r"\beach have your own map of the same maze\b",
    r"\bsome cells hidden\b",
    r"\bmust communicate\b",
]
FIRST_FOUR_RULES = [
    r"\bonly move to an adjacent cell: up, down, left or right\b",
    r"\bcannot move diagonally or through walls\b",
    r"\bends when you reach the goal or when you step into a wall\b",
    r"\btimed\b",
    r"\bleaderboard\b",
    r"\bhurry\b",
    r"\bone action per turn\b",
]
COLLAB_RULES = [
    r"\bexecuted immediately once both of you agree\b",
    r"\bafter reaching the goal, say\b.*ACTI!",
]
LEGEND = [
    r"^Legend:$",
    r"^@ = your current position$",
    r"^\* = the goal$",
    r"^\. = path$",
    r"^# = wall$",
    r"^\? = hidden cell$",
]
CLOSING = [r"^Begin now\.$"]
SOLO_RULES = [
    r"\bonly one attempt, so plan carefully\b",
    r"\bcomplete proposed solution and your reasoning\b",
    r"\bfinal solution as a list of coordinates\b",
]
CRITIC = [
    r"\breview your final solution\b",
    r"\bcomplete and valid path\b",
    r"\badjust it if needed\b",
    r"\bsubmit your final solution\b",
]

# What v1 added that the study did not say, and what the study keeps out of its prompts.
NOT_IN_THE_STUDY = [
    r"\b50\b",
    r"\bat most\b",
    r"\bmessages in total\b",  # the turn cap
    r"\bmay be able to see\b",
    r"\bpartner\b.*\bsees?\b",  # a hint that the partner sees hidden cells
    r"\btogether\b.*\b(show|cover)\b",
    r"\bevery cell\b",  # "together they show every cell"
    r"\brow\b",
    r"\bcolumn\b",
    r"\(0, ?0\)",
    r"\btop[- ]left\b",
    r"\borigin\b",
    r"\bx\b.*\by\b",  # a coordinate system
    r"\bformat\b",
    r"\bI propose\b",
    r"\bwrite only\b",  # a message format
    r"@ \.",
    r"\. \?",  # spaced map rows
]


def _in_order(text: str, patterns: list[str]) -> list[int]:
    """Where each pattern first matches after the previous one; fails naming the first one missing."""
    at, found = 0, []
    for p in patterns:
        m = re.compile(p, re.IGNORECASE | re.MULTILINE).search(text, at)
        assert m, f"element {p!r} missing (or out of order) after position {at} in:\n{text}"
        found.append(m.start())
        at = m.end()
    return found


def _v2_turn_one(condition):
    maze, views = golden_maze()
    seats = ("m", "m") if condition == "collab" else ("m",)
    return Dialogue.start(
        maze=maze, views=views, condition=condition, seats=seats, templates=load_templates("v2")
    )


def test_v2_collaboration_prompt_has_every_element_in_the_studys_order():
    _maze, views = golden_maze()
    chat = _v2_turn_one("collab").chat()
    system, task = chat[0].content, chat[1].content
    _in_order(system, SYSTEM_ELEMENTS)
    assert task.startswith("[user]: ")
    rows = views[0].render(spaced=False)
    map_at = task.index("This is your map:\n" + rows + "\n")  # introduced as its map; rows without spaces
    positions = _in_order(task, [*TASK, *FIRST_FOUR_RULES, *COLLAB_RULES, re.escape(rows), *LEGEND, *CLOSING])
    assert positions[len(TASK) + len(FIRST_FOUR_RULES) + len(COLLAB_RULES)] == map_at + len(
        "This is your map:\n"
    )
    assert task.rstrip().endswith("Begin now.")


@pytest.mark.parametrize("condition", ["solo_full", "solo_distributed"])
def test_v2_solo_prompts_have_every_element_and_no_partner(condition):
    maze, views = golden_maze()
    d = _v2_turn_one(condition)
    (prompt,) = d.chat()
    task = [
        r"\bACTI\b",
        r"\bmaze game\b",
        r"\bgrid with walls and a goal\b",
        r"\breach the goal without hitting a wall\b",
    ]
    if condition == "solo_full":
        maps = [r"^This is your map:$", re.escape(maze.render(spaced=False))]
    else:
        maps = [
            r"\btwo maps of the same maze, each showing a different portion\b",
            r"^Map view 1:$",
            re.escape(views[0].render(spaced=False)),
            r"^Map view 2:$",
            re.escape(views[1].render(spaced=False)),
        ]
    _in_order(prompt.content, [*task, *FIRST_FOUR_RULES, *SOLO_RULES, *maps, *LEGEND, *CLOSING])
    assert not re.search(r"\bagents?\b|\bpartner\b|\bcollaborat", prompt.content, re.IGNORECASE)
    d.add_reply("(0, 0)")
    _in_order(d.chat()[-1].content, CRITIC)


def _missing(text: str, patterns: list[str]) -> list[str]:
    return [p for p in patterns if not re.search(p, text, re.IGNORECASE | re.MULTILINE)]


@pytest.mark.parametrize("condition", CONDITIONS)
def test_v2_says_nothing_the_study_did_not(condition):
    d = _v2_turn_one(condition)
    d.add_reply("x")  # solo: brings the critic turn
    texts = [m.content for m in d.chat() if m.role != "assistant"][
        :2
    ]  # system and task, or prompt and critic
    for text in texts:
        assert [p for p in NOT_IN_THE_STUDY if re.search(p, text, re.IGNORECASE)] == [], text
    assert all(
        "{max_turns}" not in getattr(load_templates("v2"), key)
        for key in ("system", "collab", "solo_full", "solo_distributed", "critic")
    )


def test_v1_fails_the_checks_v2_passes():
    """The structural checks can fail: on v1, which the issue found lacking, they do."""
    maze, views = golden_maze()
    d = Dialogue.start(
        maze=maze, views=views, condition="collab", seats=("m", "m"), templates=load_templates("v1")
    )
    system, task = (m.content for m in d.chat())
    assert r"\bdoes not read them\b" in _missing(system, SYSTEM_ELEMENTS)
    assert {r"\bleaderboard\b", COLLAB_RULES[0], CLOSING[0]} <= set(
        _missing(task, [*FIRST_FOUR_RULES, *COLLAB_RULES, *CLOSING])
    )
    assert {r"\b50\b", r"\bmay be able to see\b", r"@ \."} <= {
        p for p in NOT_IN_THE_STUDY if re.search(p, task, re.IGNORECASE)
    }


# ---------------------------------------------------------------------------------------- goldens
@pytest.mark.parametrize("condition", CONDITIONS)
def test_v1_renders_byte_identically_to_before_v2(condition):
    golden = (GOLDEN_DIR / f"v1-{condition}.txt").read_text(encoding="utf-8")
    assert chats_text(condition, templates=load_templates("v1")) == golden


@pytest.mark.parametrize(
    ("golden", "condition", "options"),
    [
        ("v2-solo_full", "solo_full", {}),
        ("v2-solo_distributed", "solo_distributed", {}),
        ("v2-collab-separate", "collab", {}),
        ("v2-collab-merged", "collab", {"layout": "merged"}),
        ("v2-collab-spaced-labels", "collab", {"map_style": "spaced", "map_labels": True}),
    ],
)
def test_v2_golden_renderings(golden, condition, options):
    text = chats_text(condition, templates=configure(load_templates("v2"), **options))
    assert text == (GOLDEN_DIR / f"{golden}.txt").read_text(encoding="utf-8")


def test_the_layouts_differ_only_in_the_second_speakers_first_turns():
    separate = (GOLDEN_DIR / "v2-collab-separate.txt").read_text().split("=== ")
    merged = (GOLDEN_DIR / "v2-collab-merged.txt").read_text().split("=== ")
    assert separate[1] == merged[1] and separate[3] == merged[3]  # agent 1's chats
    assert separate[2].replace("\n--- user\n[other agent]", "\n\n[other agent]") == merged[2]


# --------------------------------------------------------------------------------- user templates
def _user_file(tmp_path, **changes):
    data = yaml.safe_load(
        (GOLDEN_DIR.parents[2] / "gapbench" / "protocol" / "templates" / "v2.yaml").read_text()
    )
    data.update(changes)
    path = tmp_path / "my-prompts.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


def _study(tmp_path, protocol, **extra):
    path = tmp_path / "study.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "output_dir": "run",
                "models": {"oracle": "scripted:oracle", "degraded": "scripted:degraded:0.2"},
                "mazes": [{"size": 5, "count": 3, "seed": 1}],
                "conditions": ["solo_full", "solo_distributed", "collab"],
                "pairs": "all_ordered",
                "max_turns": 30,
                "protocol": protocol,
                **extra,
            }
        )
    )
    return path


def test_a_study_runs_with_a_user_templates_file_and_records_carry_its_hash(tmp_path):
    from gapbench.study import load_config

    (tmp_path / "prompts").mkdir()
    prompts = _user_file(
        tmp_path / "prompts", collab=load_templates("v2").collab.replace("Begin now.", "Start now, please.")
    )
    study = _study(tmp_path, "prompts/my-prompts.yaml")  # relative to the study file
    version = "sha256:" + hashlib.sha256(prompts.read_bytes()).hexdigest()[:16]
    result = run_experiment(study, progress=False, echo=lambda _: None)
    records = read_results(result.run_dir)
    assert len(records) == 3 * (2 + 2 + 4)
    assert {r.prompt_version for r in records} == {version}
    collab = [r for r in records if r.condition == "collab"]
    assert all("Start now, please." in r.transcript.messages[0].text for r in collab)
    assert all(r.transcript.meta["layout"] == {m: "separate" for m in r.models} for r in collab)
    assert all(r.grade.success for r in records if r.models == ["oracle"] or r.models == ["oracle", "oracle"])
    # The hash, not the path, is the version: the run hash follows the file's content.
    config, _ = load_config(study)
    before = run_hash(config, [])
    prompts.write_text(prompts.read_text().replace("Start now, please.", "Go."))
    assert run_hash(load_config(study)[0], []) != before
    assert run_hash(load_config(_study(tmp_path, "v2"))[0], []) not in (
        before,
        run_hash(load_config(_study(tmp_path, "v1"))[0], []),
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"critic": None}, r"my-prompts\.yaml: critic: expected text, got NoneType; quote it"),
        (
            {"collab": "Your map:\n{mpa}\nSay {completion_phrase}"},
            r"my-prompts\.yaml: collab: unknown placeholder \{mpa\}; use only .*\{map\}",
        ),
        (
            {"solo_full": "No map here."},
            r"my-prompts\.yaml: solo_full: placeholder \{map\} is missing; put \{map\} where the map goes",
        ),
        ({"critic": "{legend}"}, r"my-prompts\.yaml: critic: unknown placeholder \{legend\}"),
        ({"legend": "   "}, r"my-prompts\.yaml: legend: renders an empty message; write the text"),
        (
            {"collab": "{map}"},
            r"my-prompts\.yaml: collab: never tells the agents the completion phrase 'ACTI!'; add \{completion_phrase\}",
        ),
        (
            {"layout": "interleaved"},
            r"my-prompts\.yaml: layout: 'interleaved' is not allowed; use one of separate, merged",
        ),
        (
            {"map_labels": "yes"},
            r"my-prompts\.yaml: map_labels: 'yes' is not allowed; use one of false, true",
        ),
        (
            {"version": "mine"},
            r"my-prompts\.yaml: version: unknown key \(a file's version is its content hash; remove the key\)",
        ),
        ({"system": "{ unbalanced"}, r"my-prompts\.yaml: system: .*; write literal braces as \{\{ and \}\}"),
    ],
)
def test_bad_template_files_get_one_line_errors_naming_file_key_and_fix(tmp_path, changes, expected):
    study = _study(tmp_path, str(_user_file(tmp_path, **changes)))
    proc = subprocess.run(
        [sys.executable, "-m", "gapbench.cli", "run", str(study), "--dry-run"], capture_output=True, text=True
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert re.search(expected, proc.stderr), proc.stderr


def test_missing_keys_non_utf8_bytes_and_missing_files(tmp_path):
    from gapbench.protocol.templates import load_templates as load

    path = _user_file(tmp_path)
    data = yaml.safe_load(path.read_text())
    del data["solo_distributed"]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(
        ValueError, match=r"my-prompts\.yaml: solo_distributed: missing; add a `solo_distributed:` text"
    ):
        load(str(path))
    path.write_bytes(_user_file(tmp_path).read_bytes().replace(b"Begin now.", b"Begin now \xe9.", 1))
    with pytest.raises(
        ValueError, match=r"my-prompts\.yaml: line \d+: byte 0xe9 is not UTF-8; save the file as UTF-8"
    ):
        load(str(path))
    with pytest.raises(ValueError, match=r"nope\.yaml not found"):
        load(str(tmp_path / "nope.yaml"))
    with pytest.raises(ValueError, match=r"'v3': unknown; use v1, v2 or the path"):
        load("v3")


def test_config_protocol_forms_and_the_renamed_key(tmp_path):
    from gapbench.study import load_config

    short, _ = load_config(_study(tmp_path, "v1"))
    assert short.protocol.templates == "v1" and short.protocol.load().layout == "merged"
    full, _ = load_config(_study(tmp_path, {"templates": "v1", "layout": "separate", "map_style": "compact"}))
    t = full.protocol.load()
    assert (t.version, t.layout, t.map_style, t.map_labels) == ("v1", "separate", "compact", False)
    assert run_hash(full, []) != run_hash(short, [])
    study = tmp_path / "old.yaml"
    study.write_text(yaml.safe_dump({"models": {"o": "scripted:oracle"}, "prompt_version": "v1"}))
    with pytest.raises(ValueError, match=r"prompt_version was renamed: write `protocol: v1`"):
        load_config(study)
    with pytest.raises(ValueError, match=r"protocol\.templates: .*unknown templates 'v9'"):
        load_config(_study(tmp_path, "v9"))


# ---------------------------------------------------------------------------- gapbench prompts show
def _show(*args):
    proc = subprocess.run(
        [sys.executable, "-m", "gapbench.cli", "prompts", "show", *args], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_prompts_show_prints_every_condition_of_the_quickstart():
    out = _show()
    headers = re.findall(r"^=== (\S+) \| maze 0 of 8 \(4x4, id \w+\) \| agent (\d)", out, re.MULTILINE)
    assert headers == [("solo_full", "1"), ("solo_distributed", "1"), ("collab", "1"), ("collab", "2")]
    assert out.count("--- system\n") == 2 and "Map view 1:" in out and "Begin now." in out


def test_prompts_show_one_agent_is_exactly_its_turn_one_chat():
    from gapbench.study import DEFAULT_CONFIG, load_config, load_mazes

    out = _show("--condition", "collab", "--agent", "2", "--maze", "5")
    config, _ = load_config(DEFAULT_CONFIG)
    item = load_mazes(config, DEFAULT_CONFIG.parent)[5]
    d = Dialogue.start(maze=item.maze, views=item.views, condition="collab", seats=("a", "a"))
    d.add_reply("<agent 1's first message>")
    header, body = out.split("\n", 1)
    assert header.endswith("| agent 2 (speaks second) | prompts v2 | layout separate ===")
    assert body == "".join(f"--- {m.role}\n{m.content}\n" for m in d.chat())


def test_prompts_show_errors_are_one_line():
    for args, fragment in [
        (["--maze", "8"], "--maze 8: the study has 8 mazes; give 0 to 7"),
        (["--condition", "solo_full", "--agent", "2"], "--agent 2: solo conditions have one agent"),
    ]:
        proc = subprocess.run(
            [sys.executable, "-m", "gapbench.cli", "prompts", "show", *args], capture_output=True, text=True
        )
        lines = proc.stderr.strip().splitlines()
        assert (
            proc.returncode == 2
            and len(lines) == 1
            and lines[0].startswith(f"gapbench prompts: error: {fragment}")
        )


# ------------------------------------------------------------------ a template that must alternate
def _strict_card(tmp_path, tiny_model_dir):
    from test_rendering import ALTERNATING_TEMPLATE

    card = tmp_path / "tiny-strict.yaml"
    card.write_text(
        yaml.safe_dump(
            {
                "name": "tiny-strict",
                "family": "tiny",
                "source": {"path": str(tiny_model_dir)},
                "dtype": "float32",
                "max_model_len": 2048,
                "chat_template": ALTERNATING_TEMPLATE,
            }
        )
    )
    return card


def test_a_model_that_cannot_render_separate_turns_gets_merged_with_a_notice(tmp_path, tiny_model_dir):
    card = _strict_card(tmp_path, tiny_model_dir)
    study = tmp_path / "study.yaml"
    study.write_text(
        yaml.safe_dump(
            {
                "output_dir": "run",
                "mazes": [{"size": 4, "count": 2, "seed": 0}],
                "conditions": ["collab"],
                "models": {
                    "oracle": "scripted:oracle",
                    "strict": {"model": str(card), "options": {"device": "cpu"}},
                },
                "pairs": [["oracle", "strict"], ["strict", "oracle"]],
                "sampling": {"max_tokens": 6},
                "max_turns": 4,
            }
        )
    )
    said = []
    result = run_experiment(study, progress=False, echo=said.append)
    assert (
        "notice: strict: its chat template cannot render two user turns in a row; using the merged layout"
        in said
    )
    records = read_results(result.run_dir)
    assert len(records) == 4 and all(r.transcript.end != "error" for r in records)
    assert all(r.transcript.meta["layout"] == {"oracle": "separate", "strict": "merged"} for r in records)
    second = [r for r in records if r.models == ["oracle", "strict"]]
    assert second and all(
        m.prompt_tokens for r in second for m in r.transcript.agent_messages if m.model == "strict"
    )


def test_prompts_show_with_a_model_renders_its_template_and_layout(tmp_path, tiny_model_dir):
    card = _strict_card(tmp_path, tiny_model_dir)
    out = _show("--condition", "collab", "--agent", "2", "--model", str(card))
    assert out.startswith(
        f"notice: {card}: its chat template cannot render two user turns in a row; it gets the merged layout\n"
    )
    assert "| agent 2 (speaks second) | prompts v2 | layout merged ===" in out
    tokens, text = re.search(
        r"^--- rendered by .*'s chat template: (\d+) tokens\n(.*)", out, re.MULTILINE | re.DOTALL
    ).groups()
    assert text.startswith("<|im_start|>system\nA user acts as an intermediary") and text.endswith(
        "<|im_start|>assistant\n\n"
    )
    assert "Begin now.\n\n[other agent]: <agent 1's first message><|im_end|>" in text and int(tokens) > 100
    separate = _show("--condition", "collab", "--agent", "2", "--model", str(tiny_model_dir))
    assert "notice" not in separate and "| layout separate ===" in separate
    assert (
        "Begin now.<|im_end|>\n<|im_start|>user\n[other agent]: <agent 1's first message><|im_end|>"
        in separate
    )
