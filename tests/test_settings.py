"""Every setting is declared once (seqtag.settings) and refused by one rule whichever door its value comes through:
a `seqtag train` flag, a TOML file, or a keyword of seqtag.train. The out-of-range values are made here from each
setting's declared bounds; the messages are compared across the doors and, for a few settings, with hand-written
text."""

import inspect
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import seqtag
from seqtag.cli import commands as cli
from seqtag import kinds, settings
from seqtag.errors import DataError
from seqtag.settings import BiLSTMConfig, TrainConfig

RUNNER = CliRunner()


def refused_values(setting):
    """Values just outside what the setting accepts, from its declaration."""
    if setting.choices:
        yield "nonesuch"
    if setting.type in (int, float):
        step = 1 if setting.type is int else 0.5
        if setting.minimum is not None:
            yield setting.type(setting.minimum - step)
        if setting.maximum is not None:
            yield setting.type(setting.maximum + step)
        if setting.above is not None:
            yield setting.type(setting.above)
        if setting.type is float:
            yield float("nan")
        yield from (value for value, _ in setting.excluded)


CASES = [(s, v) for s in settings.SETTINGS.values() for v in refused_values(s)]


def toml_value(value) -> str:
    return f'"{value}"' if isinstance(value, str) else "nan" if value != value else repr(value)


def refusal_by_toml(setting, value, tmp_path) -> str:
    config = tmp_path / "config.toml"
    config.write_text(f"[{setting.key[0]}]\n{setting.key[1]} = {toml_value(value)}\n")
    with pytest.raises(DataError) as error:
        seqtag.train(config_file=config)
    return error.value.message


@pytest.mark.parametrize(("setting", "value"), CASES, ids=[f"{s.name}={v!r}" for s, v in CASES])
def test_every_door_refuses_a_value_with_the_same_words(setting, value, tmp_path):
    expected = setting.refusal(value)
    assert expected is not None
    messages = []
    if len(setting.key) == 2:
        messages.append((f"[{setting.key[0]}] {setting.key[1]}", refusal_by_toml(setting, value, tmp_path)))
    if setting.flag:
        with pytest.raises(DataError) as error:
            seqtag.train(**{setting.name: value})
        messages.append((setting.name, error.value.message))
        typed = "nan" if value != value else str(value)
        result = RUNNER.invoke(cli.app, ["train", setting.flag, typed, "-o", str(tmp_path / "out")])
        assert result.exit_code == 2, result.output
        messages.append((setting.flag, result.output.strip().splitlines()[-1].removeprefix("error: ")))
        assert not (tmp_path / "out").exists()
    assert messages, setting
    for name, message in messages:  # the same words after each door's name for the setting
        assert message == f"{name} {expected}", (name, message)


@pytest.mark.parametrize(("call", "expected"), [
    (lambda: seqtag.train(hidden=0), "hidden must be from 1 to 8192, not 0"),
    (lambda: seqtag.train(batch_size=0), "batch_size must be at least 1, not 0"),
    (lambda: seqtag.train(lr=0.0), "lr must be above 0, not 0.0"),
    (lambda: seqtag.train(hold_out=1), "hold_out must not be 1: 1 would hold out all of the training data; 0 is off"),
    (lambda: seqtag.train(cell="rnn"), "cell must be one of lstm, gru, not 'rnn'"),
    (lambda: seqtag.train(layers="2"), "layers takes a whole number, not '2'"),
    (lambda: seqtag.train(ema=float("inf")), "ema must be a finite number, not inf"),
    (lambda: BiLSTMConfig.from_dict({"dropout": 1.0}), "[model] dropout must be from 0.0 to 0.95, not 1.0"),
    (lambda: TrainConfig.from_dict({"batch_tokens": 0}), "[training] batch_tokens must be at least 1, not 0"),
    (lambda: TrainConfig.from_dict({"seed": -1}), "[training] seed must be from 0 to 4294967295, not -1"),
    (lambda: TrainConfig.from_dict({"clip": True}), "[training] clip takes a number, not True"),
    (lambda: BiLSTMConfig.from_dict({"hiden": 5}), "unknown [model] setting(s): hiden"),
])
def test_messages_read_as_written_here(call, expected):
    with pytest.raises(DataError, match=re.escape(expected)):
        call()


def test_flags_and_bounds_are_declared_once():
    table = settings.SETTINGS
    # each kind's options are the declared settings themselves, not copies
    for kind in kinds.KINDS.values():
        assert all(table[option.name] is option for option in kind.options)
    flags = [s.flag for s in table.values() if s.flag]
    assert len(flags) == len(set(flags))
    # the settings dataclasses carry no bounds table of their own beside their declarations
    for cls in (BiLSTMConfig, TrainConfig):
        assert not hasattr(cls, "LIMITS")
    # `seqtag train` has exactly the flagged settings beside its own options
    command = cli.typer.main.get_command(cli.app).commands["train"]
    train_flags = {flag for param in command.params for flag in param.opts}
    assert set(flags) <= train_flags


def test_the_batch_size_flag_and_its_toml_key_agree():
    """--batch-size and [training] batch_tokens once had different bounds (0 accepted in TOML only)."""
    flag, toml = settings.SETTINGS["batch_size"], settings.TRAINING["batch_size"]
    assert flag is toml and flag.key == ("training", "batch_tokens")
    assert flag.refusal(0) == toml.refusal(0) == "must be at least 1, not 0"


def test_the_reading_options_are_declared_once_and_reach_the_reader_under_their_api_names():
    from seqtag.cli import options as shared

    commands = cli.typer.main.get_command(cli.app).commands
    flags = {"--format", "--columns", "--layer", "--scheme", "--on-invalid"}
    readers = {name for name, command in commands.items() if flags <= {o for p in command.params for o in p.opts}}
    assert readers == {"preprocess", "train", "evaluate", "compare", "report", "bench"}
    source = (Path(cli.__file__)).read_text()
    assert "FormatOpt" not in source and "OnInvalidOpt" not in source  # no command declares them itself
    # one name from flag to reader: the dict a command receives is ReadOptions' fields and the API's keywords
    from dataclasses import fields

    from seqtag.data.reading import ReadOptions

    assert set(shared.READING_OPTIONS) == {f.name for f in fields(ReadOptions)} - {"stream"}
    assert set(shared.READING_OPTIONS) <= set(inspect.signature(seqtag.train).parameters)


@pytest.mark.parametrize("text, expected", [
    ("model = 5", "model is 5; expected a table"), ("training = 'x'", "training is 'x'; expected a table"),
    ("features = 5", "features is 5; expected a list of feature names"),
    ("features = [5]", "features is [5]; expected a list of feature names"),
])
def test_a_toml_file_of_the_wrong_shape_is_refused_naming_the_file(tmp_path, text, expected):
    from seqtag.errors import DataError

    config = tmp_path / "config.toml"
    config.write_text(text + "\n")
    with pytest.raises(DataError, match=re.escape(expected)) as refusal:
        settings.load_config(config)
    assert str(config) in str(refusal.value)


def test_a_network_too_large_for_the_memory_is_refused_before_it_is_allocated(tmp_path, monkeypatch):
    """Sizes within their bounds can still make a network larger than the machine: its size is estimated on the
    meta device (no memory) and refused in one line, where allocating it would fail or end in the OOM killer."""
    import resource

    from seqtag.errors import DataError
    from seqtag.training import devices

    monkeypatch.setattr(devices, "free_memory", lambda device: 24e9)  # fixed: the check alike on every machine

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(DataError, match=r"the network would have 98\.\d+ GB of weights.*lower --hidden or --layers"):
        seqtag.train(hidden=8192, layers=16, max_epochs=1, output=tmp_path / "huge")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 500_000  # KB
    assert not (tmp_path / "huge").exists()
