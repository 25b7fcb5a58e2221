"""Replies read as they arrive: decoded piece by piece, and copied to the audit trail compressed.

A voucher export runs to tens of MB (reference §7 "Performance"; ~15 KB a voucher with its lines
in UTF-16). Held whole, a reply sat in memory three times at once: its bytes, its decoded text,
and the parser's slices. Read as a stream, only a piece of each is alive at a time, and the audit
trail's copy is kept zlib-compressed as the bytes arrive (a tenth of their size for Tally's XML).
"""

from __future__ import annotations

import codecs
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence

from connectors.tally.errors import TallyProtocolError

_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
AUDIT_LEVEL = 1  # the audit copy: Tally's repetitive XML still shrinks ~10x, for a fraction of level 6's CPU


def decode_chunks(chunks: Iterable[bytes], guess: Callable[[bytes], str]) -> Iterator[str]:
    """Decode a reply's byte chunks as text pieces; `guess(first bytes)` names the encoding (as
    `codec.decode_response` does for a whole reply). A leading BOM is dropped."""
    it = iter(chunks)
    head = b""
    for chunk in it:  # enough bytes to see a BOM or a UTF-16 zero byte
        head += chunk
        if len(head) >= 4:
            break
    encoding = guess(head)
    try:
        decoder = codecs.getincrementaldecoder(encoding)("strict")
    except LookupError:
        raise TallyProtocolError(f"reply declares an unknown charset {encoding!r}") from None
    bom = next((len(b) for b in _BOMS if head.startswith(b)), 0)
    first = True
    try:
        for data in _chain(head[bom:], it):
            text = decoder.decode(data)
            if first and text:
                text, first = text.lstrip("\ufeff"), False
            if text:
                yield text
        tail = decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise TallyProtocolError(f"reply is not valid {encoding}: {exc.reason}") from None
    if tail:
        yield tail


def _chain(head: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if head:
        yield head
    yield from rest


class AuditCopy:
    """The audit trail's copy of a streamed reply: each `(value, marker)` of `blank` (the login, in
    each encoding) replaced as in a whole reply, then compressed chunk by chunk. A value split across
    two chunks is still found: the last bytes of each chunk wait for the next one."""

    def __init__(self, blank: Sequence[tuple[bytes, bytes]] = ()) -> None:
        self._blank = [(value, marker) for value, marker in blank if value]
        self._keep = max((len(v) for v, _ in self._blank), default=1) - 1
        self._pending = b""
        self._deflate = zlib.compressobj(AUDIT_LEVEL)
        self._out: list[bytes] = []
        self.size = 0

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if not self._blank:
            self._out.append(self._deflate.compress(chunk))
            return
        data = self._replace(self._pending + chunk)
        cut = max(0, len(data) - self._keep)
        self._out.append(self._deflate.compress(data[:cut]))
        self._pending = data[cut:]

    def finish(self) -> bytes:
        """The compressed copy (zlib format, as `zlib.compress` writes it)."""
        self._out.append(self._deflate.compress(self._replace(self._pending)))
        self._pending = b""
        self._out.append(self._deflate.flush())
        return b"".join(self._out)

    def _replace(self, data: bytes) -> bytes:
        for value, marker in self._blank:
            data = data.replace(value, marker)
        return data

