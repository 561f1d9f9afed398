"""Search distributions: one small module per update rule."""

from .base import Strategy
from .ec import EC
from .es import ES
from .satr import SATR

__all__ = ["Strategy", "SATR", "EC", "ES"]
