"""Viterbi decoders on numpy, for the models that decode without torch: first-order over dense scores (the
perceptron, the exported BiLSTM-CRF under onnxruntime) and second-order over each token's own candidate tags
(the HMM)."""

from __future__ import annotations

import numpy as np


def viterbi(emissions: np.ndarray, start: np.ndarray, transitions: np.ndarray, end: np.ndarray,
            lengths: np.ndarray | None = None) -> np.ndarray:
    """First-order Viterbi over a batch of sequences. emissions: (batch, seq_len, tags), padded at the end where
    `lengths` are given (past its length a sequence's scores are carried unchanged, so its end is read at the last
    step: sequences of many lengths go through the same numpy calls); transitions: (from, to). Returns the best tag
    ids, shape (batch, seq_len), only the first `lengths` of each meaningful."""
    batch, length, tags = emissions.shape
    score = start + emissions[:, 0]  # shape: (batch, tags)
    back = np.zeros((batch, max(length - 1, 0), tags), dtype=np.int64)
    stay = np.arange(tags)  # the back pointers of a step past a sequence's end
    for t in range(1, length):
        step = score[:, :, None] + transitions  # shape: (batch, from, to)
        best = step.argmax(axis=1)
        # the max read at the argmax: one pass over the step instead of two
        new = np.take_along_axis(step, best[:, None, :], axis=1)[:, 0] + emissions[:, t]
        if lengths is not None and (ended := lengths <= t).any():
            best[ended], new[ended] = stay, score[ended]
        back[:, t - 1], score = best, new
    path = np.zeros((batch, length), dtype=np.int64)
    path[:, -1] = (score + end).argmax(axis=1)
    rows = np.arange(batch)
    for t in range(length - 2, -1, -1):
        path[:, t] = back[rows, t, path[:, t + 1]]
    return path


def _ragged_arange(sizes: np.ndarray) -> np.ndarray:
    """0 .. size-1 for every size, concatenated."""
    return np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)


def second_order_viterbi(log_trans: np.ndarray, lengths: np.ndarray, starts: np.ndarray, widths: np.ndarray,
                         tags: np.ndarray, emitted: np.ndarray) -> np.ndarray:
    """Best second-order paths of many sentences at once, over each token's own candidate tags.

    Token k (sentences concatenated; `lengths` > 0) may take the tags `tags[starts[k] : starts[k] + widths[k]]`
    with log emissions `emitted[...]`; `log_trans[t1, t2, t3]`, with index n for the start symbol. Returns the
    chosen tag of every token. The states of all sentences at one position are kept in one flat array, each
    sentence only as wide as its own candidates, so the numpy work per step is the same few calls whatever the
    sentences' lengths and ambiguity (sentences run longest first; those that have ended drop off the end).
    """
    n, stride = log_trans.shape[2], log_trans.shape[1]
    flat_trans = log_trans.reshape(-1)
    order = np.argsort(-lengths, kind="stable")
    length, first = lengths[order], (np.cumsum(lengths) - lengths)[order]
    # active[i]: how many sentences reach position i (a prefix of them, longest first)
    active = np.searchsorted(-length, -np.arange(int(length[0])), side="left").tolist()
    # step i: score[offset[s] + a * width_i[s] + b] for candidate a at i-1 and candidate b at i of sentence s
    width_before, width = np.ones(len(order), np.int64), widths[first]
    index = np.repeat(starts[first], width) + _ragged_arange(width)
    score = log_trans[n, n][tags[index]] + emitted[index]
    finals, history = [], []  # (sentences, best state) as each sentence ends; per step: offsets, widths, back
    for i in range(len(active)):
        offset = np.cumsum(width_before * width) - width_before * width
        ending = slice(active[i + 1] if i + 1 < len(active) else 0, active[i])
        if ending.start < ending.stop:  # the best final state of sentences of length i + 1: first one of the best
            sizes = (width_before * width)[ending]
            segment = score[offset[ending.start] :]
            edges = np.cumsum(sizes) - sizes
            best = np.maximum.reduceat(segment, edges)
            local = _ragged_arange(sizes)
            state = np.minimum.reduceat(np.where(segment == np.repeat(best, sizes), local, sizes.max()), edges)
            finals.append((ending, state // width[ending], state % width[ending]))
        if i + 1 == len(active):
            break
        count = active[i + 1]
        wa, wb, wc = width_before[:count], width[:count], widths[first[:count] + i + 1]
        # candidate triples (b, c, a), a varying fastest, so the max over a is a reduceat over runs of wa
        size = wa * wb * wc
        sentence = np.repeat(np.arange(count), size)
        k = _ragged_arange(size)
        a, bc = np.divmod(k, wa[sentence])[::-1]
        b, c = np.divmod(bc, wc[sentence])
        tag_a = tags[starts[first[:count] + i - 1][sentence] + a] if i else n
        tag_b = tags[starts[first[:count] + i][sentence] + b]
        at_c = starts[first[:count] + i + 1][sentence] + c
        value = score[offset[sentence] + a * wb[sentence] + b] + flat_trans[(tag_a * stride + tag_b) * n + tags[at_c]]
        runs = np.repeat(wa, wb * wc)
        edges = np.cumsum(runs) - runs
        best = np.maximum.reduceat(value, edges)
        back = np.minimum.reduceat(np.where(value == np.repeat(best, runs), a, runs.max()), edges)
        history.append((np.cumsum(wb * wc) - wb * wc, wc, back))
        score = best + emitted[at_c[edges]]
        width_before, width = wb, wc
    # back from each sentence's end: state (p, q) at step i came from candidate back[...] at i-2
    chosen = np.zeros(len(starts), np.int64)  # candidate position of every token
    p, q = np.zeros(len(order), np.int64), np.zeros(len(order), np.int64)
    for ending, final_p, final_q in finals:
        p[ending], q[ending] = final_p, final_q
        end = first[ending] + length[ending]
        chosen[end - 1] = final_q
        chosen[end[length[ending] > 1] - 2] = final_p[length[ending] > 1]
    for i in range(len(active) - 1, 1, -1):
        offset, wb, back = history[i - 1]
        count = active[i]
        r = back[offset + p[:count] * wb + q[:count]]
        chosen[first[:count] + i - 2] = r
        q[:count] = p[:count]
        p[:count] = r
    return tags[starts + chosen]
