"""Acumatica simulator (placeholder docstring; completed below)."""

from sandbox.acumatica.app import create_app
from sandbox.acumatica.sessions import Licence
from sandbox.acumatica.state import AcumaticaState

__all__ = ["AcumaticaState", "Licence", "create_app"]
