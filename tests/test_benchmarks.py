"""The benchmark workloads compute what they claim (small sizes; no micrograd, no timing asserted)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import common  # noqa: E402
import micrograd_tw_workloads as tw_side  # noqa: E402

import micrograd_tw as mg  # noqa: E402


def test_mixed_graph_has_n_ops_nodes_and_the_float_value():
    leaf_data, indices = common.mixed_plan(n_ops=40, pool=9, seed=3)
    leaves = [mg.Value(x) for x in leaf_data]
    root = common.build_mixed(leaves, indices)
    nodes = mg.toposort(root)
    assert sum(1 for v in nodes if v.op) == 40  # every op is one node, all reach the root
    assert {v.op for v in nodes if v.op} == {"+", "*"}
    assert root.data == common.build_mixed(leaf_data, indices)  # the same ops on plain floats


def test_floor_node_builds_the_same_graph_as_value():
    """The floor of (b) does the same arithmetic, with the same layout as a Value."""
    leaf_data, indices = common.mixed_plan(n_ops=40, pool=9, seed=3)
    root = common.build_mixed([common.BareNode(x) for x in leaf_data], indices)
    assert root.data == common.build_mixed(leaf_data, indices)
    assert common.BareNode.__slots__ == mg.Value.__slots__
    assert (root._op_label, root._partial_a, root._partial_b_or_operands) == ("+", 1.0, 1.0)
    product = common.BareNode(3.0) * common.BareNode(-2.0)
    assert (product.data, product._partial_a, product._partial_b_or_operands) == (-6.0, -2.0, 3.0)
    result = common.mixed_floor(n_ops=1200, repeats=2)
    assert len(result["build"]) == 2 and result["root"] == common.build_mixed(*common.mixed_plan(1200))


def test_mixed_graph_gradients_match_central_differences():
    leaf_data, indices = common.mixed_plan(n_ops=24, pool=5, seed=1)
    assert mg.gradcheck(lambda *xs: common.build_mixed(list(xs), indices), leaf_data)


def test_mixed_plan_refuses_an_odd_count():
    with pytest.raises(ValueError, match="even"):
        common.mixed_plan(n_ops=41, pool=9)


def test_chain_run_and_traced():
    result = common.chain_run(mg.Value, 1000)
    assert (result["y"], result["x_grad"]) == (1000.0, 1.0)
    assert result["build"] >= 0 and result["backward"] >= 0 and result["rss_growth"] >= 0
    traced = common.chain_traced(mg.Value, 1000)
    assert 50 * 1000 < traced["peak_bytes"] < 1000 * 1000  # a node is more than 50 B, less than 1 kB


def numpy_loss(params, X, y, nouts, alpha):
    """The benchmark's loss computed with numpy from a flat parameter list (micrograd's order)."""
    h, i = X, 0
    for layer, nout in enumerate(nouts):
        nin = h.shape[1]
        block = np.asarray(params[i : i + nout * (nin + 1)]).reshape(nout, nin + 1)
        i += nout * (nin + 1)
        h = h @ block[:, :nin].T + block[:, nin]
        if layer < len(nouts) - 1:
            h = np.maximum(h, 0.0)
    scores = h[:, 0]
    return np.mean(np.maximum(1.0 - y * scores, 0.0)) + alpha * np.sum(np.square(params))


def test_training_step_matches_numpy_loss_and_gradient():
    X, y = common.moons(20, seed=0)
    nouts, lr, alpha, eps = [4, 3, 1], 0.1, 1e-2, 1e-6
    # Random biases too: zero biases put dead units' consumers exactly on relu's kink.
    n_params = len(tw_side.make_mlp(nouts).parameters())
    params = np.random.default_rng(1).uniform(-1.0, 1.0, size=n_params)
    model = tw_side.make_mlp(nouts, params.tolist())
    step = tw_side.mlp_step_fn(model, X.tolist(), y.tolist(), lr, alpha)
    v = np.random.default_rng(0).normal(size=n_params)
    for _ in range(2):  # the second step shows that gradients were zeroed in between
        loss = step()
        assert loss == pytest.approx(numpy_loss(params, X, y, nouts, alpha), rel=1e-12)
        # The step moved the parameters by -lr * gradient: check it along a direction.
        after = np.array([p.data for p in model.parameters()])
        grad = (params - after) / lr
        up = numpy_loss(params + eps * v, X, y, nouts, alpha)
        down = numpy_loss(params - eps * v, X, y, nouts, alpha)
        assert grad @ v == pytest.approx((up - down) / (2 * eps), rel=1e-5)
        params = after


def test_moons_labels_are_signs():
    X, y = common.moons(10, seed=0)
    assert X.shape == (10, 2) and set(y.tolist()) == {-1.0, 1.0}


def test_workload_runs_in_a_fresh_process_and_answers_json():
    args = {"n": 500}
    result = common.run_workload(sys.executable, tw_side.__file__, "chain", args)
    assert (result["y"], result["x_grad"]) == (500.0, 1.0)
    assert result["recursion_limit"] == sys.getrecursionlimit()
    bad = subprocess.run(
        [sys.executable, tw_side.__file__, "nope"], input=json.dumps(args), capture_output=True, text=True
    )
    assert bad.returncode != 0 and "usage" in bad.stderr


def test_print_table_aligns_columns(capsys):
    common.print_table(["a", "bb"], [["xxx", "1"], ["y", "22"]])
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["a    bb", "---  --", "xxx   1", "y    22"]


def test_the_generation_benchmarks_time_the_examples_models():
    """benchmarks/compile_models.py builds the examples' own models, at the examples' batch sizes."""
    import compile_models as models

    vocab, X, Y = models.lm_data()
    assert X.shape == (models.names_generator.BATCH, models.names_generator.CONTEXT) == (1024, 3)
    assert Y.shape == (1024,) and X.dtype.kind == Y.dtype.kind == "i"
    assert isinstance(models.lm_model(vocab), models.names_generator.MLPModel)
    pixels, eps = models.vae_data()
    assert pixels.shape == (models.digit_generator.BATCH, 64) and eps.shape == (pixels.shape[0], 2)
    step = models.lm_compiled_step(vocab, X, Y)
    losses = [step() for _ in range(3)]
    assert losses[0] == pytest.approx(3.3, abs=0.6)  # near ln 27 at the start
    assert losses[2] < losses[0]  # SGD lowers the loss


def test_the_step_with_parameters_in_arrays_takes_the_compiled_steps_exactly():
    """compile_models.arrays_step measures the same arithmetic as sgd_step, only without the Values."""
    import compile_models as models

    pixels, eps = models.vae_data()
    pixels, eps = pixels[:16], eps[:16]
    compiled, arrays = models.vae_compiled_step(pixels, eps), models.vae_arrays_step(pixels, eps)
    losses = [(compiled(), arrays()) for _ in range(4)]
    assert all(a == b for a, b in losses)
    assert losses[3][0] < losses[0][0]
