"""Has the carrier got the parcel? ShipStation V2 tracking (reference §5.3), for FULFIL_ON=carrier_scan.

A V1 label is found in V2 by its tracking number (`GET /v2/labels?tracking_number=`), then its tracking
read (`GET /v2/labels/{label_id}/track`); the first scan (accepted, in transit, delivered, …) counts.
"""

from __future__ import annotations

from connectors.common.errors import NotFound
from connectors.shipstation.v2 import ShipStationV2Client
from pipelines.acumatica_shipstation.posting import PostedShipment


class V2Scans:
    """`scanned(posted)`: True once the carrier holds the parcel, False before, None when V2 does not know it."""

    def __init__(self, client: ShipStationV2Client) -> None:
        self.client = client
        self.requests = 0

    def __call__(self, posted: PostedShipment) -> bool | None:
        if not posted.tracking:
            return None
        try:
            for label in self.client.iter_labels(tracking_number=posted.tracking):
                if label.tracking_number == posted.tracking and not label.voided:
                    return self.client.label_tracking(label.label_id).carrier_has_parcel
        except NotFound:
            return None
        return None
