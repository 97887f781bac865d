"""`seqtag train --init MODEL`: a new run that starts from a trained BiLSTM's weights and vocabularies.

The network keeps the model's settings, vocabularies (words, pretrained table, characters) and weights; the output
layer and the CRF keep the rows of the labels the new data has, labels it adds get fresh rows, labels it lacks are
dropped. The context layer (span tasks) is fitted again on the new dev data. Refused: a model of another kind, a
model of another task (entity spans, tags, word segmentation), a [model] setting that differs from the model's,
and --init with --resume.
"""

from __future__ import annotations

from dataclasses import asdict, fields, replace
from pathlib import Path

from seqtag import catalog, modeldir
from seqtag.data import labels as L
from seqtag.errors import DataError, ModelFormatError
from seqtag.settings import RunConfig

# the weights whose rows are labels: copied label by label (the CRF's constraint penalties are the new scheme's)
LABEL_ROWS = {"output.weight": (0,), "output.bias": (0,), "crf.transitions": (0, 1), "crf.start": (0,),
              "crf.end": (0,)}


def task_of(scheme: L.Scheme) -> str:
    if scheme is L.Scheme.BMES:
        return "word segmentation"
    return "tags" if scheme is L.Scheme.PLAIN else "entity spans"


def configured(config: RunConfig, kind: str) -> RunConfig:
    """The run's settings with the network's taken from the --init model, which is checked here, before any data
    is read."""
    source = catalog.resolve(config.training.init)
    document = modeldir.read_model_json(source)
    if document.get("kind") != kind:
        raise DataError(f"--init starts a {kind} run from a {kind} model; {config.training.init} is a "
                        f"{document.get('kind')} model", source)
    saved = type(config.model).from_dict(document["tagger"]["config"])  # the kind's own [model] settings
    default = type(config.model)()
    changed = [f.name for f in fields(config.model) if getattr(config.model, f.name) != getattr(default, f.name)
               and getattr(config.model, f.name) != getattr(saved, f.name)]
    if changed:
        raise DataError(f"--init takes the network's settings from {config.training.init}; these differ from its: "
                        f"{', '.join(changed)}")
    features = tuple(document.get("features") or ())
    if config.features and tuple(config.features) != features:
        raise DataError(f"--init: {config.training.init} reads the input columns {list(features) or 'none'}, not "
                        f"--features {','.join(config.features)}")
    training = replace(config.training, init=str(source))
    recorded = {**config.recorded, "model": asdict(saved), "training": {**config.recorded.get("training", {}),
                                                                        "init": str(config.training.init)}}
    if features:
        recorded["features"] = list(features)
    return RunConfig(training, saved, features, recorded)


def adapted(path: str | Path, counts, layer: str, scheme: L.Scheme, device: str, on_progress):
    """The --init model as a tagger of `layer` over the labels in `counts` (the new training data's)."""
    import torch

    from seqtag.data.vocab import Vocabulary
    from seqtag.models.bilstm import BiLSTMTagger, label_order
    from seqtag.models.encoding import training_scheme
    from seqtag.models.tagger import load_weights

    document = modeldir.read_model_json(path)
    try:
        source = BiLSTMTagger.from_state(document, load_weights(Path(path), document, device=device), device)
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise ModelFormatError(f"--init: the model's files do not fit together: {type(error).__name__}: {error}",
                               path) from None
    if task_of(source.scheme) != task_of(scheme):
        raise DataError(f"--init: the model's task is {task_of(source.scheme)}, this data's is {task_of(scheme)}",
                        path)
    labels = Vocabulary(label_order(counts.labels, training_scheme(scheme)), specials=False)
    tagger = BiLSTMTagger(layer, scheme, sorted(counts.labels), source.features, source.config,
                          {**source.vocab, "labels": labels}, device)
    old = source.vocab["labels"].index
    rows = [old.get(label) for label in labels.items]
    state, target = source.network.state_dict(), tagger.network.state_dict()
    with torch.no_grad():
        for name, tensor in target.items():
            if name in LABEL_ROWS:
                copied = tensor.clone()
                for new, was in enumerate(rows):
                    if was is None:
                        continue
                    if LABEL_ROWS[name] == (0, 1):
                        for other, other_was in enumerate(rows):
                            if other_was is not None:
                                copied[new, other] = state[name][was, other_was]
                    else:
                        copied[new] = state[name][was]
                target[name] = copied
            elif name in state and state[name].shape == tensor.shape and not name.startswith("crf.") \
                    and name != "context":
                target[name] = state[name]
    tagger.network.load_state_dict(target)
    before, after = set(source.labels), set(tagger.labels)
    added, dropped = sorted(after - before), sorted(before - after)
    on_progress({"event": "note", "message": f"--init: starting from {path} ({len(before & after)} labels kept"
                 + (f"; new, with fresh output rows: {' '.join(added)}" if added else "")
                 + (f"; dropped, absent from this data: {' '.join(dropped)}" if dropped else "") + ")"})
    return tagger, {"from": str(path), "labels_kept": len(before & after), "labels_added": added,
                    "labels_dropped": dropped}
