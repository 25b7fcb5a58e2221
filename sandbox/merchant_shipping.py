"""The generated merchant's labels: which orders shipped before `start`, how, and what ships later.

Runs after everything else in `generate_merchant`, on its own `random.Random`, so the orders, edits
and cancellations a seed produced before labels existed stay exactly the same. It only touches
`awaiting_shipment` orders that are neither special nor in any later-change batch:

- about `ship_share` of them shipped before `start`: most with one full label, ~10% split into 2–3
  labels whose quantities add up to the order, ~3% with a voided label and its replacement;
- specials: `split_shipment` (2–3 partial labels), `voided_label` (voided, no replacement: the order
  is back to `awaiting_shipment`), `replaced_label` (voided, then a new label), `over_shipment` (a
  full label plus a reprint of one line: that line ships one more than was ordered);
- later batches 2 and 3 (never 1) gain `{"kind": "ship", "orderId", "orderNumber", "items"}` (items
  null = everything, or one partial line) and `{"kind": "void", "shipmentId", "orderId", "orderNumber"}`
  of an earlier full label.

A shipped order gets `orderStatus: shipped`, its first active label's `shipDate`, and `modifyDate` =
its last label or void, as the simulator does at run time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.shipstation.labels import build_shipment, voided

PACIFIC = ZoneInfo("America/Los_Angeles")
Record = dict[str, Any]
CARRIER_MIX = (("fedex", 0.60), ("ups", 0.85), ("stamps_com", 1.0))  # cumulative shares
MARKETPLACE_STORES = frozenset({310002})
FIRST_SHIPMENT_ID = 260_017_000
SPECIALS = ("split_shipment", "voided_label", "replaced_label", "over_shipment")


@dataclass
class _Plan:
    """The labels one order gets: (created, lines) each, and when the first is voided (if ever)."""

    order: Record
    carrier: str
    labels: list[tuple[datetime, list[Record]]] = field(default_factory=list)
    void_first_at: datetime | None = None


@dataclass
class Shipping:
    """What `plan_shipping` adds to a merchant."""

    orders: list[Record]
    shipments: list[Record]
    special: dict[str, str]


def _units(order: Record) -> list[str]:
    return [line["lineItemKey"] for line in order["items"] if not line["adjustment"] for _ in range(line["quantity"])]


def _goods(order: Record) -> list[Record]:
    return [line for line in order["items"] if not line["adjustment"]]


def _chunks(rng: random.Random, order: Record, parts: int) -> list[list[Record]]:
    """The goods split into `parts` labels whose quantities add up to the order's."""
    units = _units(order)
    cuts = sorted(rng.sample(range(1, len(units)), parts - 1))
    lines = {line["lineItemKey"]: line for line in _goods(order)}
    out = []
    for lo, hi in zip([0, *cuts], [*cuts, len(units)], strict=True):
        counts: dict[str, int] = {}
        for key in units[lo:hi]:
            counts[key] = counts.get(key, 0) + 1
        out.append([lines[k] if n == lines[k]["quantity"] else {**lines[k], "quantity": n} for k, n in counts.items()])
    return out


def _times(rng: random.Random, order: Record, start: datetime, count: int) -> list[datetime] | None:
    """`count` ascending instants after the order was last touched and before `start`, or None."""
    low = max(order["createDate"], order["modifyDate"]) + timedelta(hours=1)
    high = min(low + timedelta(days=4), start - timedelta(minutes=1))
    if high <= low:
        return None
    span = (high - low).total_seconds()
    return sorted(low + timedelta(seconds=rng.uniform(0, span)) for _ in range(count))


def _plan(rng: random.Random, order: Record, start: datetime, kind: str) -> _Plan | None:
    draw = rng.random()
    plan = _Plan(order, next(code for code, upto in CARRIER_MIX if draw < upto))
    if kind == "full":
        times = _times(rng, order, start, 1)
        plan.labels = [] if times is None else [(times[0], _goods(order))]
        return plan if times else None
    parts = min(len(_units(order)), rng.choice((2, 2, 3))) if kind == "split" else 1
    if kind == "split" and parts < 2:
        return _plan(rng, order, start, "full")
    times = _times(rng, order, start, {"split": parts, "voided": 2, "replaced": 3, "over": 2}[kind])
    if times is None:
        return None
    goods = _goods(order)
    if kind == "split":
        plan.labels = list(zip(times, _chunks(rng, order, parts), strict=True))
    elif kind == "over":
        plan.labels = [(times[0], goods), (times[1], [{**goods[0], "quantity": 1}])]
    else:
        plan.labels = [(times[0], goods)] + ([(times[2], goods)] if kind == "replaced" else [])
        plan.void_first_at = times[1]
    return plan


def _pick_specials(rng: random.Random, pool: list[Record], start: datetime) -> dict[str, _Plan]:
    kinds = {"split_shipment": "split", "voided_label": "voided", "replaced_label": "replaced",
             "over_shipment": "over"}
    found: dict[str, _Plan] = {}
    for name, kind in kinds.items():
        for n, order in enumerate(pool):
            if kind == "split" and len(_units(order)) < 2:
                continue
            if (plan := _plan(rng, order, start, kind)) is not None:
                found[name] = plan
                del pool[n]
                break
    return found


def _build(plans: list[_Plan]) -> tuple[list[Record], dict[int, Record]]:
    """Label records (ids ascending with createDate) and each shipped order's new version."""
    events = sorted(((when, n, lines) for n, plan in enumerate(plans) for when, lines in plan.labels),
                    key=lambda e: (e[0], e[1]))
    shipments, made, next_id = [], {n: [] for n in range(len(plans))}, FIRST_SHIPMENT_ID
    for when, n, lines in events:
        next_id += 1 + next_id % 3  # gaps: other accounts share the id space
        plan = plans[n]
        label = build_shipment(plan.order, lines, shipment_id=next_id, created=when,
                               ship_date=when.astimezone(PACIFIC).date(), carrier_code=plan.carrier,
                               marketplace_notified=plan.order["advancedOptions"]["storeId"] in MARKETPLACE_STORES)
        if plan.void_first_at is not None and not made[n]:
            label = voided(label, plan.void_first_at)
        made[n].append(label)
        shipments.append(label)
    return shipments, {plans[n].order["orderId"]: _shipped(plans[n], made[n]) for n in made}


def _shipped(plan: _Plan, labels: list[Record]) -> Record:
    active = [label for label in labels if not label.get("voided")]
    last = max([label["createDate"] for label in labels] + [plan.void_first_at or labels[0]["createDate"]])
    if not active:
        changed = {**plan.order, "orderStatus": "awaiting_shipment", "modifyDate": last}
        changed.pop("shipDate", None)
        return changed
    return {**plan.order, "orderStatus": "shipped", "shipDate": active[0]["shipDate"], "modifyDate": last}


def _later(rng: random.Random, pool: list[Record], full: list[Record], later: list[list[Record]],
           per_batch: int) -> None:
    """Ship and void changes appended to later batches 2 and 3."""
    for batch in later[1:3]:
        for order in (pool.pop() for _ in range(min(per_batch, len(pool)))):
            units = _units(order)
            items = None
            if len(units) > 1 and rng.random() < 0.2:
                items = [{"lineItemKey": units[0], "quantity": 1}]
            batch.append({"kind": "ship", "orderId": order["orderId"], "orderNumber": order["orderNumber"],
                          "items": items})
        for label in (full.pop() for _ in range(min(max(1, per_batch // 2), len(full)))):
            batch.append({"kind": "void", "shipmentId": label["shipmentId"], "orderId": label["orderId"],
                          "orderNumber": label["orderNumber"]})


def plan_shipping(seed: int, orders: list[Record], special: dict[str, str], later: list[list[Record]],
                  start: datetime, ship_share: float = 0.4) -> Shipping:
    """Labels for `orders` (replaced where shipped, list order kept); ship/void changes join `later` in place."""
    rng = random.Random(f"shipments-{seed}")
    protected = set(special.values()) | {change["orderNumber"] for batch in later for change in batch}
    pool = [o for o in orders if o["orderStatus"] == "awaiting_shipment" and o["orderNumber"] not in protected]
    rng.shuffle(pool)
    specials = _pick_specials(rng, pool, start)
    plans = list(specials.values())
    regular, rest = [], []
    for order in pool:
        if rng.random() >= ship_share:
            rest.append(order)
            continue
        draw = rng.random()
        kind = "full" if draw < 0.87 else "split" if draw < 0.97 else "replaced"
        if (plan := _plan(rng, order, start, kind)) is not None:
            regular.append(plan)
    shipments, changed = _build(plans + regular)
    single = {p.order["orderId"] for p in regular if len(p.labels) == 1 and p.void_first_at is None}
    full = [s for s in shipments if s["orderId"] in single]
    rng.shuffle(full)
    _later(rng, rest, full, later, max(1, len(orders) // 100))
    return Shipping(orders=[changed.get(o["orderId"], o) for o in orders], shipments=shipments,
                    special={name: plan.order["orderNumber"] for name, plan in specials.items()})
