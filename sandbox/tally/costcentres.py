"""Cost centres: the COSTCENTRE master and the allocations ledger lines make to it (reference §3, §4).

A ledger line (or an item's accounting allocation) splits its amount over cost centres with
``CATEGORYALLOCATIONS.LIST`` (``CATEGORY``, ``ISDEEMEDPOSITIVE``) holding ``COSTCENTREALLOCATIONS.LIST``
(``NAME``, ``AMOUNT``). A master is ``<COSTCENTRE NAME=".."><NAME>..</NAME><CATEGORY>Primary Cost
Category</CATEGORY><PARENT/></COSTCENTRE>`` (reference §4 sample).

Chosen where the reference is silent (the strict side): a company has only Tally's default category,
``Primary Cost Category`` (COSTCATEGORY masters are not simulated), so any other category is refused; an
allocation must name an existing cost centre, by exact name; a cost centre a voucher allocates to cannot
be deleted. The wording of these refusals is ours (``[sandbox]``). Not simulated: the company feature
switch (Tally drops allocations silently when cost centres are off, reference §5) and the rule that
allocations add up to the line's amount.
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from .company import Company
from .model import COSTCENTRE, PRIMARY_COST_CATEGORY, Raw
from .replies import Rejected
from .xmlio import child_value, kids

CATEGORY_LIST = "CATEGORYALLOCATIONS.LIST"
CENTRE_LIST = "COSTCENTREALLOCATIONS.LIST"


def check_category(category: str) -> None:
    """Only the default category exists in a simulated company."""
    if category.strip() not in ("", PRIMARY_COST_CATEGORY):
        raise Rejected(f"[sandbox] Cost Category '{category}' does not exist!")


def check_allocations(company: Company, line: etree._Element) -> None:
    """Every cost centre a ledger line allocates to exists, under a category that exists."""
    for category in (c for c in kids(line) if c.tag == CATEGORY_LIST):
        check_category(child_value(category, "CATEGORY"))
        for centre in (c for c in kids(category) if c.tag == CENTRE_LIST):
            name = child_value(centre, "NAME")
            if company.master(COSTCENTRE, name) is None:
                raise Rejected(f"[sandbox] Cost Centre '{name}' does not exist!")


def named_in(extra: Sequence[Raw]) -> set[str]:
    """The cost centres a line's kept-verbatim children allocate to."""
    names: set[str] = set()
    for tag, content in extra:
        if tag != CATEGORY_LIST or isinstance(content, str):
            continue
        for centre_tag, centre in content:
            if centre_tag == CENTRE_LIST and not isinstance(centre, str):
                names.update(text for t, text in centre if t == "NAME" and isinstance(text, str))
    return names
