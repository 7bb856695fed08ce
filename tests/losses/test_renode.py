"""ReNode and Totoro: PPR, conflicts and weights against independent small implementations written here, the
weighted losses against their formulas, the split protocols against the official walk, and bad inputs."""

import math
import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lanco_hf import ReNodeLoss, personalized_pagerank, renode_weights, totoro
from lanco_hf.data.cache import DataNotFoundError
from lanco_hf.data.node_splits import step_imbalance_split, topology_imbalance_split

ALPHA = 0.15


def random_graph(num_nodes=40, num_edges=90, symmetric=True, seed=0):
    generator = torch.Generator().manual_seed(seed)
    edges = torch.randint(0, num_nodes, (2, num_edges), generator=generator)
    edges = torch.cat([edges, edges[:, :5]], dim=1)  # repeated edges count once
    return torch.cat([edges, edges.flip(0)], dim=1) if symmetric else edges


def labelled_split(num_nodes=40, num_classes=3, per_class=4, seed=0):
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, num_classes, (num_nodes,), generator=generator)
    labels[: num_classes * per_class] = torch.arange(num_classes).repeat(per_class)
    mask = torch.zeros(num_nodes, dtype=torch.bool)
    mask[torch.randperm(num_classes * per_class, generator=generator)[: num_classes * per_class - 1]] = True
    return labels, mask


def dense_ppr(edge_index, num_nodes, alpha=ALPHA):
    """The official closed form in numpy: alpha (I - (1 - alpha) D^-1/2 (A + I) D^-1/2)^-1, A[i, j] = 1 per edge."""
    adjacency = np.zeros((num_nodes, num_nodes))
    adjacency[edge_index[0].numpy(), edge_index[1].numpy()] = 1.0
    adjacency += np.eye(num_nodes)
    scale = np.diag(adjacency.sum(axis=1) ** -0.5)
    return alpha * np.linalg.inv(np.eye(num_nodes) - (1 - alpha) * scale @ adjacency @ scale)


def reference_totoro(ppr, labels, mask, num_classes):
    """Totoro by its definition, with loops: T_v = sum_u P[v, u] sum_{c != y_v} mean_{w in L_c} P[w, u]."""
    labelled = [v for v in range(len(labels)) if mask[v]]
    by_class = {c: [w for w in labelled if labels[w] == c] for c in range(num_classes)}
    influence = {c: ppr[by_class[c]].mean(axis=0) for c in range(num_classes)}
    conflicts = {}
    for v in labelled:
        conflicts[v] = sum(
            ppr[v, u] * sum(influence[c][u] for c in range(num_classes) if c != labels[v]) for u in range(len(labels))
        )
    return conflicts


def reference_weights(conflicts, num_nodes, w_min, w_max):
    ranked = sorted(conflicts, key=lambda v: (conflicts[v], v))
    weights = np.zeros(num_nodes)
    for rank, v in enumerate(ranked):
        weights[v] = w_min + 0.5 * (w_max - w_min) * (1 + math.cos(math.pi * rank / (len(ranked) - 1)))
    return weights


@pytest.mark.parametrize("symmetric", [True, False], ids=["undirected", "directed"])
@pytest.mark.parametrize("dense", [False, True], ids=["sparse", "dense"])
def test_ppr_matches_dense_closed_form(symmetric, dense):
    edges = random_graph(symmetric=symmetric)
    edges = torch.cat([edges, torch.tensor([[3], [3]])], dim=1)  # a self-loop adds to the identity
    expected = dense_ppr(edges, 40)
    sources = torch.tensor([0, 7, 3, 39])
    rows = personalized_pagerank(edges, 40, sources, dense=dense, tol=1e-13)
    np.testing.assert_allclose(rows.numpy(), expected[sources.numpy()], rtol=0, atol=1e-11)
    np.testing.assert_allclose(personalized_pagerank(edges, 40, dense=dense, tol=1e-13).numpy(), expected, atol=1e-11)


def test_ppr_tolerance_bounds_the_error_and_cap_warns():
    edges = random_graph()
    expected = dense_ppr(edges, 40)[:5]
    loose = personalized_pagerank(edges, 40, torch.arange(5), tol=1e-4).numpy()
    assert 1e-9 < np.abs(loose - expected).max() < 1e-3
    with pytest.warns(RuntimeWarning, match="max_iter=3"):
        personalized_pagerank(edges, 40, torch.arange(5), max_iter=3)


@pytest.mark.parametrize("symmetric", [True, False], ids=["undirected", "directed"])
def test_totoro_matches_independent_implementation(symmetric):
    edges = random_graph(symmetric=symmetric, seed=1)
    labels, mask = labelled_split(seed=1)
    ppr = dense_ppr(edges, 40)
    expected = reference_totoro(ppr, labels.tolist(), mask.tolist(), 3)
    nodes = sorted(expected)
    for kwargs in (
        {"tol": 1e-13},
        {"dense": True},
        {"ppr": personalized_pagerank(edges, 40, mask.nonzero().flatten(), tol=1e-13)},
    ):
        conflict = totoro(edges, mask, labels, **kwargs)
        np.testing.assert_allclose(conflict[nodes].numpy(), [expected[v] for v in nodes], rtol=1e-9)
        assert torch.isnan(conflict[~mask]).all()


@pytest.mark.parametrize(("w_min", "w_max"), [(0.5, 1.5), (0.75, 1.25), (1.0, 1.0)])
def test_renode_weights_match_independent_implementation(w_min, w_max):
    edges = random_graph(seed=2)
    labels, mask = labelled_split(seed=2)
    conflicts = reference_totoro(dense_ppr(edges, 40), labels.tolist(), mask.tolist(), 3)
    weights = renode_weights(edges, mask, labels, w_min=w_min, w_max=w_max, tol=1e-13)
    np.testing.assert_allclose(weights.numpy(), reference_weights(conflicts, 40, w_min, w_max), rtol=1e-6)
    dense = renode_weights(edges, mask, labels, w_min=w_min, w_max=w_max, dense=True)
    torch.testing.assert_close(dense, weights, rtol=0, atol=0)


def test_weights_lie_in_range_in_the_documented_order():
    edges = random_graph(seed=3)
    labels, mask = labelled_split(seed=3)
    conflict = totoro(edges, mask, labels)
    weights = renode_weights(edges, mask, labels, conflict=conflict)
    labelled = weights[mask]
    assert labelled.min() == pytest.approx(0.5) and labelled.max() == pytest.approx(1.5)
    assert (weights[~mask] == 0).all()
    order = torch.argsort(conflict[mask])  # ascending conflict: weights must not increase
    assert (labelled[order].diff() <= 1e-7).all()
    assert labelled[conflict[mask].argmin()] == pytest.approx(1.5)  # least conflict -> w_max
    assert labelled[conflict[mask].argmax()] == pytest.approx(0.5)  # most conflict -> w_min


def test_equal_conflicts_are_ranked_by_node_id():
    labels = torch.tensor([0, 1, 0, 1, 0])
    mask = torch.tensor([True, True, True, True, False])
    conflict = torch.tensor([0.2, 0.1, 0.2, 0.3, float("nan")])
    weights = renode_weights(torch.zeros(2, 0, dtype=torch.long), mask, labels, conflict=conflict)
    # ranks: node 1 -> 0, node 0 -> 1, node 2 -> 2, node 3 -> 3
    expected = [0.5 + 0.5 * (1 + math.cos(math.pi * r / 3)) for r in (1, 0, 2, 3)] + [0.0]
    np.testing.assert_allclose(weights.numpy(), expected, rtol=1e-6)


def manual_losses(logits, labels, counts, loss_type, gamma=2.0, beta=0.9999):
    """Per-node losses of the official imb_loss.py, written from their formulas."""
    num_classes = logits.shape[1]
    frequency = counts.double().mean() / counts.double()
    one_hot = F.one_hot(labels, num_classes).double()
    logits = logits.double()
    ce = -logits.log_softmax(dim=1).gather(1, labels[:, None]).squeeze(1)
    if loss_type == "ce":
        return ce
    if loss_type == "re-weight":
        return frequency[labels] * ce
    if loss_type == "focal":
        p = logits.sigmoid()
        bce = -(one_hot * p.log() + (1 - one_hot) * (1 - p).log())
        modulator = torch.where(one_hot.bool(), (1 - p) ** gamma, p**gamma)
        return frequency[labels] * (modulator * bce).sum(dim=1)
    balanced = (1 - beta) / (1 - beta ** counts.double())
    balanced = balanced / balanced.sum() * num_classes
    q = logits.softmax(dim=1)
    bce = -(one_hot * q.log() + (1 - one_hot) * (1 - q).log())
    return (balanced[labels][:, None] * bce).mean(dim=1)


@pytest.mark.parametrize("loss_type", ["ce", "re-weight", "focal", "cb-softmax"])
def test_weighted_loss_equals_manual_weighted_mean(loss_type):
    logits = torch.randn(12, 4, dtype=torch.float64) * 2
    labels = torch.tensor([0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 0])
    counts = torch.bincount(labels, minlength=4)
    weights = torch.rand(12) + 0.5
    loss = ReNodeLoss(loss_type)
    expected = manual_losses(logits, labels, counts, loss_type)
    torch.testing.assert_close(
        loss(logits, labels, counts, weights).double(), (weights.double() * expected).sum() / 12, rtol=1e-5, atol=1e-7
    )
    torch.testing.assert_close(loss(logits, labels, counts).double(), expected.mean(), rtol=1e-5, atol=1e-7)


def test_weighted_cross_entropy_gradient_is_analytic():
    logits = torch.randn(6, 3, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    weights = torch.tensor([0.5, 1.5, 1.0, 0.7, 1.2, 0.9])
    ReNodeLoss("ce")(logits, labels, node_weights=weights).backward()
    expected = weights[:, None] * (logits.detach().softmax(dim=1) - F.one_hot(labels, 3)) / 6
    torch.testing.assert_close(logits.grad, expected)


def test_bad_inputs_raise_clear_errors():
    edges = random_graph()
    labels, mask = labelled_split()
    with pytest.raises(ValueError, match=r"edge_index holds node ids .*allowed: \[0, 40\)"):
        renode_weights(torch.cat([edges, torch.tensor([[0], [40]])], dim=1), mask, labels)
    with pytest.raises(ValueError, match=r"edge_index holds node ids -1"):
        totoro(torch.cat([edges, torch.tensor([[-1], [2]])], dim=1), mask, labels)
    with pytest.raises(ValueError, match="edge_index must be an integer tensor of shape"):
        personalized_pagerank(edges.float(), 40)
    with pytest.raises(ValueError, match="train_mask selects no node"):
        renode_weights(edges, torch.zeros(40, dtype=torch.bool), labels)
    with pytest.raises(ValueError, match=r"classes \[1\] have no labelled node"):
        totoro(edges, mask & (labels != 1), labels)
    with pytest.raises(ValueError, match=r"classes \[3\] have no labelled node"):
        renode_weights(edges, mask, labels, num_classes=4)
    with pytest.raises(ValueError, match=r"num_classes=1 is out of range"):
        renode_weights(edges, mask, torch.zeros(40, dtype=torch.long))
    with pytest.raises(ValueError, match="train_mask must be a 1-D boolean"):
        totoro(edges, mask.long(), labels)
    with pytest.raises(ValueError, match=r"w_max=0.4 is out of range; allowed: \[0.5, inf\)"):
        renode_weights(edges, mask, labels, w_max=0.4)
    with pytest.raises(ValueError, match=r"alpha=1.0 is out of range"):
        personalized_pagerank(edges, 40, alpha=1.0)
    with pytest.raises(ValueError, match=r"loss_type='ldam' is not supported"):
        ReNodeLoss("ldam")
    with pytest.raises(ValueError, match=r"classes \[2\] have no labelled node"):
        ReNodeLoss("re-weight")(torch.randn(3, 3), torch.tensor([0, 1, 1]), torch.tensor([1, 2, 0]))


def official_tinl_split(labels, seed, train_each=20, valid_each=30):
    """transductive/load_data.py::get_split, as written there (global random, a set difference for validation)."""
    all_idx = list(range(len(labels)))
    random.seed(seed)
    random.shuffle(all_idx)
    num_classes = max(labels) + 1
    train_idx, counts = [], [0] * num_classes
    for node in all_idx:
        if counts[labels[node]] < train_each:
            counts[labels[node]] += 1
            train_idx.append(node)
    after_train = list(set(all_idx) - set(train_idx))
    valid_idx, counts = [], [0] * num_classes
    for node in after_train:
        if counts[labels[node]] < valid_each:
            counts[labels[node]] += 1
            valid_idx.append(node)
    return set(train_idx), set(valid_idx), set(after_train) - set(valid_idx)


@pytest.mark.parametrize("seed", [0, 3])
def test_topology_split_is_the_official_one(seed):
    labels = torch.randint(0, 5, (1000,), generator=torch.Generator().manual_seed(seed))
    masks = topology_imbalance_split(labels, 20, 30, seed)
    expected = official_tinl_split(labels.tolist(), seed)
    for mask, nodes in zip(masks, expected):
        assert set(mask.nonzero().flatten().tolist()) == nodes
    assert torch.bincount(labels[masks[0]]).tolist() == [20] * 5
    assert torch.bincount(labels[masks[1]]).tolist() == [30] * 5


def test_step_split_quotas_and_unlabelled_nodes():
    labels = torch.randint(0, 6, (3000,), generator=torch.Generator().manual_seed(0))
    labels[:100] = -1  # unlabelled nodes belong to no split
    train, valid, test = step_imbalance_split(labels, labeling_ratio=0.05, imb_ratio=4, head_classes=[0, 1], seed=1)
    base = int(2900 * 0.05 / (4 + 2 * 4))
    assert torch.bincount(labels[train], minlength=6).tolist() == [4 * base] * 2 + [base] * 4
    assert torch.bincount(labels[valid], minlength=6).tolist() == [30] * 6
    assert not (train & valid).any() and not (train & test).any() and not (valid & test).any()
    assert ((train | valid | test) == (labels >= 0)).all()
    with pytest.raises(ValueError, match="not enough nodes for the training set"):
        topology_imbalance_split(labels, train_per_class=900)


@pytest.fixture(scope="module")
def cora():
    from lanco_hf.data.planetoid import planetoid_graph

    try:
        return planetoid_graph("Cora")
    except DataNotFoundError as error:
        pytest.skip(str(error))


def test_sparse_weights_equal_dense_on_cora(cora):
    train, _, _ = topology_imbalance_split(cora.y, 20, 30, seed=0)
    sparse = totoro(cora.edge_index, train, cora.y)
    dense = totoro(cora.edge_index, train, cora.y, dense=True)
    torch.testing.assert_close(sparse[train], dense[train], rtol=0, atol=1e-6 * float(dense[train].max()))
    sparse_weights = renode_weights(cora.edge_index, train, cora.y, conflict=sparse)
    dense_weights = renode_weights(cora.edge_index, train, cora.y, conflict=dense)
    # Nodes in symmetric positions (two same-class leaves of one hub) tie exactly; rounding orders them either way.
    for node in train.nonzero().flatten():
        tied = train & ((dense - dense[node]).abs() <= 1e-9 * float(dense[train].max()))
        assert sorted(sparse_weights[tied].tolist()) == sorted(dense_weights[tied].tolist())
    assert (sparse_weights == dense_weights).float().mean() > 0.95
