"""Walmart Marketplace <-> TallyPrime: stock and prices out, orders, returns and settlements in."""
