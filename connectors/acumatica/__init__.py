"""Acumatica ERP contract-based REST API (reference: /work/shared/reference/acumatica.md)."""

from connectors.acumatica.client import AcumaticaClient
from connectors.acumatica.errors import EndpointVersionNotFound
from connectors.acumatica.settings import AcumaticaSettings

__all__ = ["AcumaticaClient", "AcumaticaSettings", "EndpointVersionNotFound"]
