"""ShipStation V1 connector: typed client, models and the API's own rules (no Dagster here)."""

from connectors.shipstation.client import ShipStationClient
from connectors.shipstation.models import Customer, Order, OrderItem, Product

__all__ = ["Customer", "Order", "OrderItem", "Product", "ShipStationClient"]
