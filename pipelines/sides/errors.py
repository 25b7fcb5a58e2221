"""The error every mapping raises for a record it cannot map: names the record and the field."""

from __future__ import annotations


class MappingError(ValueError):
    """A source record that cannot become a target record; names the record and the field."""

    def __init__(self, record: str, field: str, message: str) -> None:
        super().__init__(f"{record}: {field}: {message}")
        self.record, self.field, self.message = record, field, message
