"""Shared sides: each external system's side of every flow, written once.

`tally` (SKU -> stock item, party ledgers, stock items, the builders of every voucher kind, the
poster's TallyPrime target) and `shipstation` (reading orders and labels, staged or fresh). A flow
maps one side's records onto the other's and adds nothing that another flow would copy.
"""
