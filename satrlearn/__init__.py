"""satrlearn: binary recurrent spiking network policies trained without backpropagation.

Estimators: :class:`SATRSearch`, :class:`ECSearch`, :class:`ESSearch`.
The trained policy: :class:`RSNNPolicy`. Ask/tell optimisers for your own evaluation loop:
:mod:`satrlearn.optim`.
"""

__version__ = "0.1.0"

from . import optim
from .network import NetworkConfig
from .policy import RSNNPolicy
from .rollout import RolloutError, episode_stats, evaluate_policy
from .search import HISTORY_KEYS, ECSearch, ESSearch, SATRSearch, load_checkpoint

__all__ = [
    "SATRSearch",
    "ECSearch",
    "ESSearch",
    "RSNNPolicy",
    "NetworkConfig",
    "RolloutError",
    "evaluate_policy",
    "episode_stats",
    "HISTORY_KEYS",
    "load_checkpoint",
    "optim",
    "__version__",
]
