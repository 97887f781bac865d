"""A linear-chain CRF with start/end transition vectors and transitions the label scheme forbids masked out.

Forbidden transitions (`O` -> `I-X` in IOB2) get a large negative score in training and decoding alike, so the
model is a distribution over valid sequences only and Viterbi never returns an invalid one.
"""

from __future__ import annotations

import torch
from torch import nn

FORBIDDEN = -10000.0
# Off-diagonal score of the identity step that stands in for padding in the parallel scan: exp() of it is 0.0 in
# float32, and being finite it can never make a row all -inf (whose logsumexp would have a NaN gradient).
UNREACHABLE = -30000.0
# The parallel scan's first level holds batch x steps/2 x tags^3 numbers; above this many (256 MB of float32) the
# step-by-step loop is used instead, so a tag set of hundreds cannot exhaust GPU memory.
SCAN_BUDGET = 1 << 26


class CRF(nn.Module):
    def __init__(self, num_tags: int, allowed: tuple[list[bool], list[list[bool]], list[bool]] | None = None):
        super().__init__()
        self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.zeros(num_tags, num_tags))  # [from, to]
        self.start = nn.Parameter(torch.zeros(num_tags))
        self.end = nn.Parameter(torch.zeros(num_tags))
        start, transitions, end = allowed or ([True] * num_tags, [[True] * num_tags] * num_tags, [True] * num_tags)
        # Buffers, not parameters: they are part of the saved state, so a loaded model keeps its constraints.
        self.register_buffer("start_penalty", _penalty(start))
        self.register_buffer("transition_penalty", _penalty(transitions))
        self.register_buffer("end_penalty", _penalty(end))

    def _scores(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return (
            self.start + self.start_penalty,
            self.transitions + self.transition_penalty,
            self.end + self.end_penalty,
        )

    def _check(self, emissions: torch.Tensor, mask: torch.Tensor) -> None:
        if emissions.dim() != 3 or emissions.size(2) != self.num_tags:
            raise ValueError(f"expected emissions of shape (batch, seq_len, {self.num_tags}), got {tuple(emissions.shape)}")
        if mask.shape != emissions.shape[:2]:
            raise ValueError(f"expected mask of shape {tuple(emissions.shape[:2])}, got {tuple(mask.shape)}")
        # on a GPU, reading the mask back would make the host wait at every training step; the encoders never
        # produce such a mask, so there it is not checked
        if emissions.device.type == "cpu" and not bool(mask[:, 0].all()):
            raise ValueError("the first timestep of every sequence must be unmasked")

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Forward algorithm. emissions: (batch, seq_len, num_tags); mask: (batch, seq_len) bool. -> (batch,)"""
        self._check(emissions, mask)
        start, transitions, end = self._scores()
        if emissions.device.type != "cpu" and scan_fits(*emissions.shape):
            return log_partition_scan(emissions, mask, start, transitions, end)
        alpha = start + emissions[:, 0]  # shape: (batch, num_tags)
        for t in range(1, emissions.size(1)):
            # shape: (batch, from, to) -> (batch, to)
            step = torch.logsumexp(alpha.unsqueeze(2) + transitions + emissions[:, t].unsqueeze(1), dim=1)
            alpha = torch.where(mask[:, t].unsqueeze(1), step, alpha)
        return torch.logsumexp(alpha + end, dim=1)

    def score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Unnormalised score of the given tag sequences. tags: (batch, seq_len) -> (batch,)"""
        start, transitions, end = self._scores()
        maskf = mask.to(emissions.dtype)
        emitted = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)  # shape: (batch, seq_len)
        total = start[tags[:, 0]] + (emitted * maskf).sum(1)
        total = total + (transitions[tags[:, :-1], tags[:, 1:]] * maskf[:, 1:]).sum(1)
        last = tags.gather(1, (mask.sum(1) - 1).unsqueeze(1)).squeeze(1)
        return total + end[last]

    def nll(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Summed negative log-likelihood of the gold sequences."""
        return (self.log_partition(emissions, mask) - self.score(emissions, tags, mask)).sum()

    def marginals(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """P(tag at t | sentence), shape (batch, seq_len, num_tags): forward-backward, computed as the gradient
        of the log-partition with respect to the emissions (zero at masked steps)."""
        with torch.enable_grad():
            emissions = emissions.detach().requires_grad_()
            (gradient,) = torch.autograd.grad(self.log_partition(emissions, mask).sum(), emissions)
        return gradient

    def span_log_probs(self, emissions: torch.Tensor, spans: list[list[tuple[int, int]]]) -> torch.Tensor:
        """log P(tags fixed at some steps | sentence) for one sentence (emissions: (seq_len, num_tags)) and each
        list of (step, tag) in `spans`: the forward algorithm over the paths that keep those tags, against all."""
        if not spans:
            return emissions.new_zeros(0)
        steps, tags = emissions.shape
        fixed = emissions.new_zeros(len(spans), steps, tags)  # 0 where a tag is free, very low where it is ruled out
        for row, constraint in enumerate(spans):
            for step, tag in constraint:
                fixed[row, step] = -1e4
                fixed[row, step, tag] = 0.0
        mask = torch.ones(len(spans), steps, dtype=torch.bool, device=emissions.device)
        constrained = self.log_partition(emissions.unsqueeze(0) + fixed, mask)
        return constrained - self.log_partition(emissions.unsqueeze(0), mask[:1])

    def nbest(self, emissions: torch.Tensor, k: int) -> list[tuple[list[int], float]]:
        """The k best tag sequences of one sentence (emissions: (seq_len, num_tags)) with their scores."""
        start, transitions, end = self._scores()
        num_tags = self.num_tags
        scores = (start + emissions[0]).unsqueeze(0)  # shape: (paths kept, num_tags)
        history = []
        for t in range(1, emissions.size(0)):
            # every kept path into every tag: shape (paths * from, to)
            candidates = (scores.unsqueeze(2) + transitions.unsqueeze(0)).reshape(-1, num_tags)
            keep = min(k, candidates.size(0))
            scores, index = candidates.topk(keep, dim=0)  # shape: (keep, to)
            scores = scores + emissions[t]
            history.append(index)
        final = (scores + end).reshape(-1)
        best, flat = final.topk(min(k, final.numel()))
        results = []
        for score, position in zip(best.tolist(), flat.tolist()):
            rank, tag = divmod(position, num_tags)
            path = [tag]
            for index in reversed(history):
                rank, previous = divmod(int(index[rank, tag]), num_tags)
                path.append(previous)
                tag = previous
            results.append((path[::-1], score))
        return results

    def viterbi(self, emissions: torch.Tensor, mask: torch.Tensor) -> tuple[list[list[int]], torch.Tensor]:
        """Best sequence per item (trimmed to its length) and its score, batched over items and tags."""
        self._check(emissions, mask)
        start, transitions, end = self._scores()
        score = start + emissions[:, 0]  # shape: (batch, num_tags)
        backpointers = []
        for t in range(1, emissions.size(1)):
            best, index = (score.unsqueeze(2) + transitions).max(dim=1)  # shape: (batch, to)
            step = best + emissions[:, t]
            keep = mask[:, t].unsqueeze(1)
            score = torch.where(keep, step, score)
            # a masked step points each tag at itself, so backtracking passes through padding unchanged
            identity = torch.arange(self.num_tags, device=index.device).expand_as(index)
            backpointers.append(torch.where(keep, index, identity))
        score = score + end
        best_score, last = score.max(dim=1)
        path = [last]
        for pointers in reversed(backpointers):
            last = pointers.gather(1, last.unsqueeze(1)).squeeze(1)
            path.append(last)
        tags = torch.stack(path[::-1], dim=1).tolist()  # shape: (batch, seq_len)
        lengths = mask.sum(1).tolist()
        return [row[:n] for row, n in zip(tags, lengths)], best_score


def scan_fits(batch: int, steps: int, tags: int) -> bool:
    return batch * (steps // 2 + 1) * tags**3 <= SCAN_BUDGET


def log_partition_scan(emissions: torch.Tensor, mask: torch.Tensor, start: torch.Tensor, transitions: torch.Tensor,
                       end: torch.Tensor) -> torch.Tensor:
    """The forward algorithm as a parallel scan: the steps' (from, to) score matrices are multiplied pairwise in the
    log semiring, log2(seq_len) rounds instead of one per position. On a GPU the loop's cost is the host launching a
    few small kernels per position (the device is mostly idle), so fewer, larger operations are what pays; on a CPU
    the scan's tags^3 work per step makes it slower, and the loop is used there."""
    batch, steps, tags = emissions.shape
    identity = torch.full((tags, tags), UNREACHABLE, dtype=emissions.dtype, device=emissions.device)
    identity.fill_diagonal_(0.0)
    # step t moves from tag i to tag j with score transitions[i, j] + emissions[t, j]; a padded step stays put
    matrices = transitions + emissions[:, 1:].unsqueeze(2)  # shape: (batch, steps - 1, from, to)
    matrices = torch.where(mask[:, 1:, None, None], matrices, identity)
    while matrices.size(1) > 1:
        if matrices.size(1) % 2:
            matrices = torch.cat([matrices, identity.expand(batch, 1, tags, tags)], dim=1)
        left, right = matrices[:, 0::2], matrices[:, 1::2]
        # shape: (batch, pairs, from, via, to) -> (batch, pairs, from, to)
        matrices = torch.logsumexp(left.unsqueeze(4) + right.unsqueeze(2), dim=3)
    alpha = start + emissions[:, 0]  # shape: (batch, num_tags)
    if steps > 1:
        alpha = torch.logsumexp(alpha.unsqueeze(2) + matrices[:, 0], dim=1)
    return torch.logsumexp(alpha + end, dim=1)


def _penalty(allowed) -> torch.Tensor:
    return (~torch.tensor(allowed, dtype=torch.bool)).float() * FORBIDDEN
