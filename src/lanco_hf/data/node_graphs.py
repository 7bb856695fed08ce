"""The graphs of the node-classification task, by name: the Planetoid citation graphs (``lanco_hf.data.planetoid``)
and the Debian package dependency graph (``lanco_hf.data.debian_graph``), as ``torch_geometric.data.Data`` with
``label_names`` and a one-line ``description``."""

from __future__ import annotations

from ..modeling.validation import check_choice

NODE_DATASETS = ("cora", "citeseer", "pubmed", "debian_packages")
PLANETOID_NAMES = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}


def load_node_graph(dataset: str, debian_min_class_size: int = 100, debian_num_features: int = 1000):
    """The graph ``dataset`` (one of ``NODE_DATASETS``); the Debian graph leaves sections with fewer than
    ``debian_min_class_size`` packages unlabelled and keeps a bag of ``debian_num_features`` description words."""
    check_choice("dataset", dataset, NODE_DATASETS)
    if dataset == "debian_packages":
        from .debian_graph import debian_package_graph

        data = debian_package_graph(debian_min_class_size, debian_num_features)
        data.description = (
            f"the Debian package dependency graph from apt-cache dumpavail ({data.num_nodes:,} packages, "
            f"{data.edge_index.shape[1] // 2:,} undirected dependency edges, Section labels; records "
            f"sha256 {data.sha256})"
        )
        return data
    from .planetoid import planetoid_graph

    name = PLANETOID_NAMES[dataset]
    data = planetoid_graph(name)
    data.label_names = [f"class_{c}" for c in range(int(data.y.max()) + 1)]
    data.description = (
        f"Planetoid {name} ({data.num_nodes:,} nodes, {data.edge_index.shape[1] // 2:,} undirected edges)"
    )
    return data


__all__ = ["NODE_DATASETS", "load_node_graph"]
