"""Training settings that follow the corpus size and the device: the batch size, learning rate and epoch limit
(schedule_for), the network's width, depth and document window (network_for), the weight average (ema_for) and
the learning rate's factor by epoch (lr_factor). Each rule was chosen on dev data; docs/experiments.md says how."""

from __future__ import annotations

# From this many training tokens a GPU trains with larger batches (GPU_SCHEDULE): at 800 tokens a batch its step is
# bound by kernel launches, not arithmetic. Chosen on dev at that size (docs/experiments.md, Training defaults).
GPU_SCHEDULE_FROM = 200_000
GPU_SCHEDULE = {"batch_tokens": 4000, "lr": 0.0045, "max_epochs": 60}  # lr: 0.002 x sqrt(5), 5x the batch
LR, MAX_EPOCHS = 0.002, 30
HIDDEN = 200  # hidden units per direction of the word BiLSTM
LAYERS = 2  # stacked BiLSTM layers
DOCUMENT_WINDOW = 64  # tokens of a document the network reads at once (chosen on dev over 0, on a GPU)
# From this many training tokens a CPU trains a narrower network for longer (CPU_SCHEDULE): fewer units and one
# layer take about half the time an epoch and in tagging, and a 128-token window reads more of a document. Each
# was chosen on CoNLL-2003 dev by a rule written before the runs; the GPU, whose epoch is launch-bound, keeps the
# wider defaults (docs/experiments.md, Training defaults).
CPU_SCHEDULE_FROM = 200_000
CPU_SCHEDULE = {"hidden": 100, "max_epochs": 45, "document_window": 128, "layers": 1}
BATCH_TOKENS = 800  # from BATCH_TOKENS x STEPS training tokens up; fewer below (batch_tokens_for)
STEPS = 100  # optimizer steps an epoch of a small corpus still makes
# The TrainConfig settings these rules fill in when left unset: model.json's `training` records them as a run used
# them, and --resume goes on with those values (a rule may have changed since, or the device).
RESOLVED = ("batch_tokens", "lr", "max_epochs", "ema")


def schedule_for(train_tokens: int, device: str) -> dict:
    """Batch size, learning rate and epoch limit by corpus size and device."""
    if device.startswith("cuda") and train_tokens >= GPU_SCHEDULE_FROM:
        return dict(GPU_SCHEDULE)
    return {"batch_tokens": batch_tokens_for(train_tokens), "lr": LR,
            "max_epochs": CPU_SCHEDULE["max_epochs"] if _cpu_schedule(train_tokens, device) else MAX_EPOCHS}


# The word BiLSTM's settings that follow corpus size and device (network_for), with their defaults; a trained model
# records the values its training resolved
NETWORK = {"hidden": HIDDEN, "layers": LAYERS, "document_window": DOCUMENT_WINDOW}


def network_for(train_tokens: int, device: str) -> dict:
    """The word BiLSTM's default width, depth and document window: NETWORK, or CPU_SCHEDULE's on a CPU from
    CPU_SCHEDULE_FROM tokens."""
    if _cpu_schedule(train_tokens, device):
        return {key: CPU_SCHEDULE[key] for key in NETWORK}
    return dict(NETWORK)


def _cpu_schedule(train_tokens: int, device: str) -> bool:
    return not device.startswith("cuda") and train_tokens >= CPU_SCHEDULE_FROM


def batch_tokens_for(train_tokens: int) -> int:
    """The default batch size: 800 padded tokens, fewer on a small corpus, so that an epoch of 20,000 tokens still
    makes 100 steps (200 tokens a batch). Chosen on dev at about 20,000 training tokens, where 200 beat 800 on
    CoNLL-2003 NER and UD English POS; from 80,000 tokens up it is 800, the setting of the full-corpus results."""
    return min(BATCH_TOKENS, max(200, train_tokens // STEPS))


# The weight average is on by default under this many training tokens. Measured on dev (README, "Weight
# averaging"): better or within 0.1 at about 20,000 tokens (NER +0.31, POS -0.07, 3 and 1 seeds), 0.26 worse for
# NER at 51,000 (3 seeds; POS +0.01 at 53,000), so the threshold sits just above the sizes where it held.
EMA_BELOW = 25_000
EMA_DECAY = 0.99


def ema_for(train_tokens: int) -> float:
    """EMA_DECAY under EMA_BELOW tokens, smoother and as good on dev; off above (README: "Weight averaging")."""
    return EMA_DECAY if train_tokens < EMA_BELOW else 0.0


def lr_factor(epoch: int, lr_decay: float, history: list[dict], plateau: int) -> float:
    """The learning rate's factor for an epoch: inverse-time decay (lr / (1 + lr_decay x epoch)), halved each time
    `plateau` epochs in a row bring no better dev score. The halvings are counted from the run's history (epochs
    scored on dev data only, the same on every torchrun rank), so a resumed run goes on at the same rate."""
    halvings, best, bad = 0, None, 0
    for record in history if plateau else ():
        if "dev" not in record:
            continue
        if best is None or record["dev_score"] > best:
            best, bad = record["dev_score"], 0
        else:
            bad += 1
            halvings += bad % plateau == 0
    return 0.5**halvings / (1.0 + lr_decay * epoch)
