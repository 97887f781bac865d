"""The CRF against brute-force enumeration of every label sequence."""

import itertools

import pytest
import torch

from seqtag.models.crf import CRF
from seqtag.data.labels import Scheme, allowed_transitions


def brute_force(crf, emissions, length):
    start, transitions, end = crf._scores()
    scores = {}
    for seq in itertools.product(range(crf.num_tags), repeat=length):
        s = start[seq[0]] + end[seq[-1]] + sum(emissions[t, seq[t]] for t in range(length))
        s = s + sum(transitions[a, b] for a, b in zip(seq, seq[1:]))
        scores[seq] = s
    return scores


@pytest.mark.parametrize("constrained", [False, True])
def test_forward_and_viterbi_match_enumeration(constrained):
    torch.manual_seed(0)
    labels = ["O", "B-X", "I-X", "E-X", "S-X"]
    allowed = allowed_transitions(labels, Scheme.BIOES) if constrained else None
    crf = CRF(len(labels), allowed)
    with torch.no_grad():
        for p in (crf.transitions, crf.start, crf.end):
            p.normal_()
    emissions = torch.randn(3, 4, len(labels))
    lengths = [4, 2, 1]
    mask = torch.tensor([[t < n for t in range(4)] for n in lengths])
    log_z = crf.log_partition(emissions, mask)
    paths, best = crf.viterbi(emissions, mask)
    for i, n in enumerate(lengths):
        scores = brute_force(crf, emissions[i], n)
        expected = torch.logsumexp(torch.stack(list(scores.values())), 0)
        if constrained:  # forbidden sequences carry the penalty, so they vanish from the partition
            valid = [s for seq, s in scores.items() if s > -1000]
            expected = torch.logsumexp(torch.stack(valid), 0)
        assert torch.allclose(log_z[i], expected, atol=1e-4)
        argmax = max(scores, key=lambda k: scores[k])
        assert tuple(paths[i]) == argmax
        assert torch.allclose(best[i], scores[argmax], atol=1e-4)
        tags = torch.tensor(paths[i] + [0] * (4 - n)).unsqueeze(0)
        assert torch.allclose(crf.score(emissions[i : i + 1], tags, mask[i : i + 1])[0], scores[argmax], atol=1e-4)


def test_bad_shapes_are_rejected():
    crf = CRF(3)
    with pytest.raises(ValueError, match="expected emissions of shape"):
        crf.viterbi(torch.zeros(2, 4, 5), torch.ones(2, 4, dtype=torch.bool))


def test_marginals_match_enumeration():
    torch.manual_seed(1)
    crf = CRF(3)
    with torch.no_grad():
        crf.transitions.normal_()
    emissions = torch.randn(2, 3, 3)
    mask = torch.tensor([[True, True, True], [True, True, False]])
    marginals = crf.marginals(emissions, mask)
    for i, n in enumerate((3, 2)):
        scores = brute_force(crf, emissions[i], n)
        log_z = torch.logsumexp(torch.stack(list(scores.values())), 0)
        for t in range(n):
            for tag in range(3):
                expected = sum(torch.exp(s - log_z) for seq, s in scores.items() if seq[t] == tag)
                assert torch.allclose(marginals[i, t, tag], expected, atol=1e-5)
        assert torch.allclose(marginals[i, :n].sum(1), torch.ones(n), atol=1e-5)


def test_nbest_matches_the_top_of_the_enumeration():
    torch.manual_seed(2)
    crf = CRF(3)
    with torch.no_grad():
        crf.transitions.normal_()
        crf.start.normal_()
    emissions = torch.randn(4, 3)
    with torch.no_grad():
        scores = brute_force(crf, emissions, 4)
    expected = sorted(scores.items(), key=lambda item: -float(item[1]))[:5]
    got = crf.nbest(emissions, 5)
    assert [tuple(path) for path, _ in got] == [seq for seq, _ in expected]
    assert all(abs(score - float(s)) < 1e-4 for (_, score), (_, s) in zip(got, expected))
    assert crf.nbest(emissions[:1], 10)[0][0] == [int((crf.start + crf.end + emissions[0]).argmax())]


@pytest.mark.parametrize("steps", [1, 2, 5, 8, 13])
def test_parallel_scan_matches_the_loop(steps):
    """The GPU's forward algorithm (a log-semiring scan) gives the loop's log-partition and gradients, with padding,
    forbidden transitions and odd lengths at every round."""
    from seqtag.models.crf import log_partition_scan

    torch.manual_seed(steps)
    labels = ["O", "B-X", "I-X", "E-X", "S-X", "B-Y", "I-Y", "E-Y", "S-Y"]
    crf = CRF(len(labels), allowed_transitions(labels, Scheme.BIOES))
    with torch.no_grad():
        for p in (crf.transitions, crf.start, crf.end):
            p.normal_()
    lengths = torch.tensor([steps, max(1, steps - 1), 1, (steps + 1) // 2])
    mask = torch.arange(steps)[None, :] < lengths[:, None]
    emissions = (3 * torch.randn(4, steps, len(labels))).requires_grad_()
    loop = crf.log_partition(emissions, mask)  # on a CPU tensor: the loop
    inputs = [emissions, crf.transitions, crf.start, crf.end]
    loop_grads = torch.autograd.grad(loop.sum(), inputs, allow_unused=True, materialize_grads=True)
    scan = log_partition_scan(emissions, mask, *crf._scores())
    scan_grads = torch.autograd.grad(scan.sum(), inputs, allow_unused=True, materialize_grads=True)
    assert torch.allclose(scan, loop, atol=1e-4)
    for a, b in zip(scan_grads, loop_grads):
        assert torch.isfinite(a).all()
        assert torch.allclose(a, b, atol=1e-4)


def test_numpy_viterbi_over_padded_sequences_of_many_lengths_finds_each_ones_best_path():
    """seqtag.models.decoding.viterbi with `lengths`: one padded batch, each sequence's path the best of its own length."""
    import numpy as np

    from seqtag.models.decoding import viterbi

    rng = np.random.default_rng(0)
    tags, lengths = 4, np.array([1, 2, 3, 5, 5, 4])
    start, transitions, end = rng.normal(size=tags), rng.normal(size=(tags, tags)), rng.normal(size=tags)
    emissions = rng.normal(size=(len(lengths), lengths.max(), tags))
    emissions[np.arange(lengths.max()) >= lengths[:, None]] = 50.0  # padding that would win if it were read
    paths = viterbi(emissions, start, transitions, end, lengths)
    for row, length in enumerate(lengths):
        def score(seq, row=row, length=length):
            return (start[seq[0]] + end[seq[-1]] + sum(emissions[row, t, seq[t]] for t in range(length))
                    + sum(transitions[a, b] for a, b in itertools.pairwise(seq)))
        best = max(itertools.product(range(tags), repeat=int(length)), key=score)
        assert tuple(paths[row, :length]) == best
        assert (viterbi(emissions[row : row + 1, :length], start, transitions, end)[0] == best).all()
