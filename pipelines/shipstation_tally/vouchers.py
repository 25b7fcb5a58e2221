"""Moved: the poster is `pipelines.posting`, the Tally target and marker `pipelines.sides.tally`.

Kept for one release so that imports in flight keep working; nothing new imports it.
"""

from pipelines.posting import PostingReport, PostItem
from pipelines.sides.tally import TARGET
from pipelines.sides.tally.markers import MARKER_RE, index_by_marker
from pipelines.sides.tally.target import import_errors

__all__ = ["MARKER_RE", "TARGET", "PostItem", "PostingReport", "import_errors", "index_by_marker"]
