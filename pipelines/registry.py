"""Every flow the product runs, in one list: the CLI, the demo and the run summary read it.

A new system pair adds its `FLOWS` here (and its definitions in `definitions.py`); nothing else in
the application layer names a flow.
"""

from __future__ import annotations

from pipelines.acumatica_shipstation.flows import FLOWS as ACUMATICA_SHIPSTATION
from pipelines.flow import FlowSpec
from pipelines.shipstation_tally.flows import FLOWS as SHIPSTATION_TALLY
from pipelines.shipstation_zoho.flows import FLOWS as SHIPSTATION_ZOHO
from pipelines.walmart_tally.flows import FLOWS as WALMART_TALLY
from pipelines.walmart_tally.outbound import OUTBOUND_FLOWS as TALLY_WALMART

FLOWS: tuple[FlowSpec, ...] = (*SHIPSTATION_TALLY, *WALMART_TALLY, *TALLY_WALMART, *SHIPSTATION_ZOHO,
                              *ACUMATICA_SHIPSTATION)
BY_NAME: dict[str, FlowSpec] = {flow.name: flow for flow in FLOWS}


def flow(name: str) -> FlowSpec:
    """The flow called `name` on the command line."""
    return BY_NAME[name]


def ledger_flows() -> list[str]:
    """Every sync-ledger flow name any flow writes, in registry order."""
    return list(dict.fromkeys(name for spec in FLOWS for name in spec.ledger_flows))


def failed_metrics() -> tuple[tuple[str, str], ...]:
    """(asset, metadata key) pairs that count failed records, across every flow."""
    return tuple(dict.fromkeys(metric for spec in FLOWS for metric in spec.failed_metrics))
