"""Unmodelled XML kept verbatim on a master or voucher, and written back on export."""

from __future__ import annotations

from lxml import etree

from .model import Raw
from .xmlio import E, kids, tag_of, text


def raw_node(el: etree._Element) -> Raw:
    children = tuple(raw_node(c) for c in kids(el))
    return (tag_of(el), children if children else text(el))


def raw_to_e(node: Raw) -> E:
    tag, content = node
    if isinstance(content, str):
        return E(tag, content)
    return E(tag, kids=[raw_to_e(c) for c in content])


def raw_to_json(node: Raw) -> object:
    tag, content = node
    return {tag: content if isinstance(content, str) else [raw_to_json(c) for c in content]}
