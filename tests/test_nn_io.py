"""Module state dicts and JSON files: exact round trips, and every bad file refused."""

from __future__ import annotations

import json
import math
import os
import struct
import subprocess
import sys
import threading
import tracemalloc
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import micrograd_tw as mg
import micrograd_tw.model_files as model_files
import micrograd_tw.nn as nn
from micrograd_tw.nn import MLP, Neuron, StateDictError

W0 = "layers.0.neurons.0.w.0"
B1 = "layers.1.neurons.0.b"


def bits(state):
    """Exact bit patterns of a state dict's floats (tells -0.0 from 0.0)."""
    return {k: struct.pack("<d", v) for k, v in state.items()}


@pytest.fixture
def model():
    return MLP(2, [3, 1], activation="tanh", seed=0)


@pytest.fixture
def saved(tmp_path):
    """The path of a good file written by a differently seeded model of the same architecture."""
    path = tmp_path / "model.json"
    MLP(2, [3, 1], activation="tanh", seed=1).save(path)
    return path


def refused(model, path, *fragments):
    """Loading path must fail with every fragment in the message, and change nothing."""
    before = bits(model.state_dict())
    with pytest.raises(StateDictError) as e:
        model.load(path)
    message = str(e.value)
    for fragment in fragments:
        assert fragment in message, message
    assert "unchanged" in message
    assert bits(model.state_dict()) == before
    return e.value


def edit(path, change):
    """Rewrite the JSON document at path through change(document)."""
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def set_param(path, name, raw):
    """Put the raw JSON text ``raw`` where the parameter's number is."""
    text = path.read_text()
    key = f'"{name}": '
    start = text.index(key) + len(key)
    end = start
    while text[end] not in ",\n}":
        end += 1
    path.write_text(text[:start] + raw + text[end:])


# ------------------------------------------------------------ round trips


def test_state_dict_maps_names_to_floats(model):
    state = model.state_dict()
    assert list(state) == [n for n, _ in model.named_parameters()]
    assert all(type(v) is float for v in state.values())


def test_save_load_is_bit_exact(model, tmp_path):
    awkward = [0.1 + 0.2, -0.0, 5e-324, 1.7976931348623157e308, -1 / 3, 1e-310, 2.0**-1074 * 3, math.pi]
    for p, x in zip(model.parameters(), awkward):
        p.data = x
    path = tmp_path / "m.json"
    model.save(path)
    other = MLP(2, [3, 1], activation="tanh", seed=5)
    assert bits(other.state_dict()) != bits(model.state_dict())
    other.load(path)
    assert bits(other.state_dict()) == bits(model.state_dict())
    assert other([0.3, 0.7]).data == model([0.3, 0.7]).data
    assert not list(tmp_path.glob("*.tmp"))  # the temporary file was moved into place


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=13, max_size=13))
def test_any_finite_parameters_survive_a_file_bit_exactly(tmp_path_factory, values):
    path = tmp_path_factory.mktemp("io") / "m.json"
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    for p, x in zip(model.parameters(), values):
        p.data = x
    model.save(path)
    other = MLP(2, [3, 1], activation="tanh", seed=1)
    other.load(path)
    assert bits(other.state_dict()) == bits(model.state_dict())


def test_load_state_dict_round_trip(model):
    other = MLP(2, [3, 1], activation="tanh", seed=9)
    other.load_state_dict(model.state_dict())
    assert bits(other.state_dict()) == bits(model.state_dict())


def test_file_holds_version_architecture_and_numbers(model, tmp_path):
    path = tmp_path / "m.json"
    model.save(str(path))
    document = json.loads(path.read_text())
    assert document["format"] == "micrograd_tw.nn" and document["version"] == 1
    assert document["architecture"] == {
        "type": "MLP", "nin": 2, "nouts": [3, 1], "activations": ["tanh", "linear"]
    }
    assert document["parameters"] == model.state_dict()


def test_save_refuses_non_finite_parameters(model, tmp_path):
    model.parameters()[2].data = math.nan
    with pytest.raises(ValueError, match="layers.0.neurons.0.b = nan"):
        model.save(tmp_path / "m.json")
    assert not list(tmp_path.iterdir())


def test_neuron_and_layer_save_too(tmp_path):
    path = tmp_path / "n.json"
    Neuron(3, activation="sigmoid", seed=0).save(path)
    n = Neuron(3, activation="sigmoid", seed=1)
    n.load(path)
    assert n.state_dict() == Neuron(3, activation="sigmoid", seed=0).state_dict()
    refused(Neuron(3, activation="relu", seed=1), path, "architecture")


def test_hand_written_integers_are_numbers(model, saved):
    set_param(saved, W0, "2")
    model.load(saved)
    assert model.state_dict()[W0] == 2.0


# --------------------------------------------------------------- bad files


def test_corrupt_json(model, saved):
    saved.write_text("this is not JSON {")
    refused(model, saved, "not valid JSON")


def test_truncated_json(model, saved):
    text = saved.read_text()
    saved.write_text(text[: len(text) // 2])
    refused(model, saved, "not valid JSON", "truncated")


def test_empty_file(model, saved):
    saved.write_text("")
    refused(model, saved, "not valid JSON")


def test_not_utf8(model, saved):
    saved.write_bytes(b"\xff\xfe\x00garbage")
    refused(model, saved, "not UTF-8")


def test_top_level_must_be_an_object(model, saved):
    saved.write_text("[1, 2, 3]")
    refused(model, saved, "expected a JSON object at the top, got list")


@pytest.mark.parametrize(
    "other, fragment",
    [
        (MLP(2, [4, 1], activation="tanh", seed=0), "'nouts': [4, 1]"),
        (MLP(2, [3, 1], activation="relu", seed=0), "'activations': ['relu', 'linear']"),
        (MLP(3, [3, 1], activation="tanh", seed=0), "'nin': 3"),
        (MLP(2, [3, 1, 1], activation="tanh", seed=0), "'nouts': [3, 1, 1]"),
    ],
)
def test_another_architecture(saved, other, fragment):
    refused(other, saved, "architecture", fragment)


def test_architecture_compares_types_strictly(model, saved):
    edit(saved, lambda d: d["architecture"].update(nin=2.0))
    refused(model, saved, "architecture")
    edit(saved, lambda d: d["architecture"].update(nin=True))
    refused(model, saved, "architecture")


def test_missing_parameter(model, saved):
    edit(saved, lambda d: d["parameters"].pop(B1))
    refused(model, saved, "missing 1 parameter(s)", B1)


def test_unexpected_parameter(model, saved):
    edit(saved, lambda d: d["parameters"].update({"layers.0.neurons.9.w.0": 0.5}))
    refused(model, saved, "unexpected 1 key(s)", "layers.0.neurons.9.w.0")


@pytest.mark.parametrize("key", ["format", "version", "architecture", "parameters"])
def test_missing_top_level_key(model, saved, key):
    edit(saved, lambda d: d.pop(key))
    refused(model, saved, f"missing top-level key {key!r}")


def test_unexpected_top_level_key(model, saved):
    edit(saved, lambda d: d.update(comment="hi"))
    refused(model, saved, "unexpected top-level key(s): 'comment'")


@pytest.mark.parametrize("version", [2, 0, -1])
def test_other_format_versions(model, saved, version):
    edit(saved, lambda d: d.update(version=version))
    refused(model, saved, f"format version {version} is not supported")


@pytest.mark.parametrize("version", ["1", True, 1.0, None])
def test_format_version_must_be_an_integer(model, saved, version):
    edit(saved, lambda d: d.update(version=version))
    refused(model, saved, "format version must be an integer")


def test_other_format(model, saved):
    edit(saved, lambda d: d.update(format="pytorch"))
    refused(model, saved, "format is 'pytorch'")


def test_parameters_must_be_an_object(model, saved):
    edit(saved, lambda d: d.update(parameters=[1.0, 2.0]))
    refused(model, saved, "parameters: expected an object", "got list")


def test_duplicate_keys(model, saved):
    text = saved.read_text()
    key = f'"{W0}": '
    saved.write_text(text.replace(key, f"{key}0.5, {key}", 1))
    refused(model, saved, "duplicate key", W0)


def test_duplicate_top_level_key(model, saved):
    text = saved.read_text()
    saved.write_text(text.replace('"version": 1', '"version": 1, "version": 1', 1))
    refused(model, saved, "duplicate key 'version'")


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"])
def test_non_finite_weights(model, saved, raw):
    set_param(saved, W0, raw)
    refused(model, saved, W0, f"{raw} is not a finite number")


@pytest.mark.parametrize(
    "raw, kind", [("true", "bool"), ("false", "bool"), ('"0.5"', "str"), ("null", "NoneType"),
                  ("[0.5]", "list"), ('{"x": 0.5}', "dict")],
)
def test_non_numbers_as_weights(model, saved, raw, kind):
    set_param(saved, W0, raw)
    refused(model, saved, W0, f"expected a number, got {kind}")


def test_huge_integer_weight(model, saved):
    set_param(saved, W0, "1" + "0" * 400)
    refused(model, saved, W0, "not representable as a float")


def test_every_problem_is_listed(model, saved):
    set_param(saved, W0, "NaN")
    set_param(saved, "layers.0.neurons.1.b", '"0.5"')
    edit(saved, lambda d: (d["parameters"].pop(B1), d.update(version=7)))
    # json.dumps wrote NaN back as NaN: the document stays in JSON's extended syntax.
    error = refused(model, saved, W0, "layers.0.neurons.1.b", B1, "format version 7")
    assert len(error.problems) == 4


def test_deeply_nested_file(model, saved):
    saved.write_text("[" * 30_000 + "]" * 30_000)
    refused(model, saved, "30,000 JSON lists and objects")


def test_deep_nesting_inside_a_good_file(model, saved):
    edit(saved, lambda d: d.update(architecture=json.loads("[" * 50 + "]" * 50)))
    refused(model, saved, "nested")


def test_brackets_inside_strings_do_not_count_as_nesting(model, saved):
    edit(saved, lambda d: d["architecture"].update(type="[[[[" * 30 + '"\\'))
    refused(model, saved, "architecture")  # refused for the architecture, not for nesting


def test_escaped_quotes_are_scanned_in_linear_time(model, saved):
    # A quadratic string scan would take seconds on this 60 kB file.
    saved.write_text('"' + '\\"' * 30_000)
    refused(model, saved, "not valid JSON")


def test_unterminated_string_hides_no_brackets(model, saved):
    saved.write_text('{"a": "' + "[" * 5000)
    refused(model, saved, "not valid JSON")


def test_oversized_file(model, tmp_path):
    path = tmp_path / "big.json"
    limit = model_files.size_limit(model.architecture(), list(model.state_dict()))
    with open(path, "wb") as f:
        f.truncate(limit + 1)  # sparse: takes no disk space
    refused(model, path, f"is at most {limit:,} bytes", "not this model's file")


def test_size_limit_follows_the_model(tmp_path):
    # A file of a large model loads into that model, and is refused unread by a small one.
    big, small = MLP(2, [100, 100, 1], seed=0), MLP(2, [3, 1], seed=0)
    path = tmp_path / "big.json"
    big.save(path)
    assert path.stat().st_size > model_files.size_limit(small.architecture(), list(small.state_dict()))
    MLP(2, [100, 100, 1], seed=1).load(path)
    refused(small, path, "not this model's file")


def test_missing_file_is_an_os_error(model, tmp_path):
    with pytest.raises(FileNotFoundError):
        model.load(tmp_path / "nope.json")


def test_loader_never_unpickles_or_evaluates():
    source = Path(nn.__file__).read_text() + Path(model_files.__file__).read_text()
    for word in ("import pickle", "pickle.load", "eval(", "exec(", "marshal"):
        assert word not in source


# -------------------------------------------------------- bad state dicts


def refused_dict(model, state, *fragments):
    before = bits(model.state_dict())
    with pytest.raises(StateDictError) as e:
        model.load_state_dict(state)
    for fragment in fragments:
        assert fragment in str(e.value)
    assert bits(model.state_dict()) == before
    return e.value


def test_load_state_dict_refuses_missing_and_unexpected(model):
    state = model.state_dict()
    del state[B1]
    state["extra"] = 1.0
    error = refused_dict(model, state, "missing 1", B1, "unexpected 1", "'extra'")
    assert len(error.problems) == 2


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, True, "0.5", None, [1.0], 1j])
def test_load_state_dict_refuses_bad_values(model, bad):
    state = model.state_dict()
    state[W0] = bad
    refused_dict(model, state, W0)


def test_load_state_dict_refuses_non_mappings(model):
    refused_dict(model, list(model.state_dict().values()), "expected a dict")


def test_load_state_dict_accepts_any_real_number(model):
    state = model.state_dict()
    state[W0] = np.float32(0.5)
    state[B1] = Fraction(1, 4)
    state["layers.0.neurons.0.b"] = 3
    model.load_state_dict(state)
    assert model.state_dict()[W0] == 0.5 and model.state_dict()[B1] == 0.25
    assert type(model.parameters()[0].data) is float


def test_many_problems_are_summarised(model):
    error = refused_dict(model, {f"k{i}": 0.0 for i in range(100)}, "unexpected 100 key(s)", "more")
    assert len(error.problems) == 2


def test_failed_save_leaves_the_old_file_and_no_temporary(model, tmp_path, monkeypatch):
    path = tmp_path / "m.json"
    model.save(path)
    old = path.read_text()

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        MLP(2, [3, 1], seed=4).save(path)
    assert path.read_text() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


def test_failed_move_removes_the_temporary(model, tmp_path):
    target = tmp_path / "a_directory"
    target.mkdir()
    (target / "keep").write_text("x")  # os.replace cannot put a file over a non-empty directory
    with pytest.raises(OSError):
        model.save(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_directory"]


# ------------------------------------------------ saving safely (issue 11, #1 and #2)


def test_save_never_follows_or_destroys_a_file_at_the_old_temporary_name(model, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "m.json.tmp").symlink_to(victim)
    (tmp_path / "n.json.tmp").write_text("someone's file")
    model.save(tmp_path / "m.json")
    model.save(tmp_path / "n.json")
    assert victim.read_text() == "precious"
    assert (tmp_path / "m.json.tmp").is_symlink()
    assert (tmp_path / "n.json.tmp").read_text() == "someone's file"
    assert not (tmp_path / "m.json").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["victim.txt", "m.json.tmp", "n.json.tmp", "m.json", "n.json"]
    )
    MLP(2, [3, 1], activation="tanh", seed=3).load(tmp_path / "m.json")


def test_a_saved_file_has_the_permissions_of_any_new_file(model, tmp_path):
    umask = os.umask(0o022)
    try:
        model.save(tmp_path / "m.json")
    finally:
        os.umask(umask)
    assert (tmp_path / "m.json").stat().st_mode & 0o777 == 0o644  # not tempfile's 0o600


def seeded_states(seeds):
    return {seed: bits(MLP(2, [3, 1], activation="tanh", seed=seed).state_dict()) for seed in seeds}


def load_while(path, running, states):
    """Load path in a loop while running() holds; every load must give one of ``states``."""
    reader = MLP(2, [3, 1], activation="tanh", seed=0)
    loads = 0
    while running() or loads == 0:
        reader.load(path)  # raises StateDictError on a torn or half-written file
        assert bits(reader.state_dict()) in states
        loads += 1
    return loads


def test_concurrent_saves_from_threads_never_tear_the_file(tmp_path):
    path = tmp_path / "m.json"
    seeds = range(8)
    states = list(seeded_states(seeds).values())
    MLP(2, [3, 1], activation="tanh", seed=0).save(path)
    errors = []

    def saver(seed):
        model = MLP(2, [3, 1], activation="tanh", seed=seed)
        try:
            for _ in range(40):
                model.save(path)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=saver, args=(seed,)) for seed in seeds]
    for t in threads:
        t.start()
    load_while(path, lambda: any(t.is_alive() for t in threads), states)
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]  # no temporary file left


SAVER = """
import sys
from micrograd_tw.nn import MLP
model = MLP(2, [3, 1], activation="tanh", seed=int(sys.argv[2]))
print("ready", flush=True)
sys.stdin.readline()  # all processes start saving together
for _ in range(int(sys.argv[3])):
    model.save(sys.argv[1])
"""


def test_concurrent_saves_from_processes_never_tear_the_file(tmp_path):
    path = tmp_path / "m.json"
    seeds = range(10, 14)
    states = list(seeded_states(seeds).values())
    MLP(2, [3, 1], activation="tanh", seed=10).save(path)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SAVER, str(path), str(seed), "150"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        for seed in seeds
    ]
    for p in procs:
        assert p.stdout.readline() == "ready\n"
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    loads = load_while(path, lambda: any(p.poll() is None for p in procs), states)
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    assert loads > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


# ------------------------------------------- memory on hostile files (issue 11, #9)


class ManyWeights(nn.Module):
    """A model whose own file may be about 2.7 MB, so that a 2 MB file is not refused by size."""

    def __init__(self, n):
        self.w = [mg.Value(0.0) for _ in range(n)]


HOSTILE = {  # 2 MB each; a parser or a pre-scan can build millions of objects from them
    "one string of escaped quotes": b'{"a": "' + b'\\"' * 1_000_000 + b'"}',
    "empty lists": b"[" + b"[]," * 666_666 + b"[]]",
    "numbers": b"[" + b"1.0," * 500_000 + b"1.0]",
    "short strings": b"[" + b'"ab",' * 400_000 + b'"ab"]',
}


def load_peak(model, path):
    """tracemalloc's peak while model.load(path) refuses the file."""
    tracemalloc.start()
    try:
        with pytest.raises(StateDictError):
            model.load(path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_hostile_files_cost_at_most_a_few_times_their_size(tmp_path):
    model = ManyWeights(25_000)
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    baseline = load_peak(model, empty)  # the model's own bookkeeping: its names and parameters
    for kind, content in HOSTILE.items():
        path = tmp_path / "hostile.json"
        path.write_bytes(content)
        extra = load_peak(model, path) - baseline
        assert extra < 3 * len(content), f"{kind}: {extra:,} bytes for a file of {len(content):,}"
