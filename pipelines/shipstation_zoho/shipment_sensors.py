"""The pair's label polling: the ShipStation side's label sensor (created and voided streams) aimed at this pair."""

from collections.abc import Callable
from datetime import datetime

from pipelines.shipstation_zoho.jobs import SHIPMENTS_JOB
from pipelines.sides.shipstation.labels import label_sensor
from pipelines.windows import Window

LABELS_OP = "shipstation__labels_to_zoho"


def label_key(by: str) -> Callable[[datetime, datetime], str]:
    """Run keys of one label stream's windows: `zoho-labels-<stream>:<start>:<end>`."""
    return lambda start, end: Window(start, end).key(f"zoho-labels-{by}")


shipstation_labels_to_zoho_sensor = label_sensor(
    "shipstation_labels_to_zoho_sensor", job_name=SHIPMENTS_JOB, op=LABELS_OP, settings_key="zoho_flow",
    key_for=label_key)
