"""Graph computations of ReNode and Totoro: personalized PageRank (``pagerank``) and the Totoro conflict of the
labelled nodes (``totoro``). They need only torch (sparse tensors), not torch_geometric."""

from .pagerank import DEFAULT_ALPHA, gcn_normalized_adjacency, personalized_pagerank, propagate
from .totoro import totoro

__all__ = ["DEFAULT_ALPHA", "gcn_normalized_adjacency", "personalized_pagerank", "propagate", "totoro"]
