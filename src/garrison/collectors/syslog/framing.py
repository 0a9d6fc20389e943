"""Splitting a syslog TCP stream into messages (RFC 6587, RFC 5425). Pure and incremental:
feed it bytes as they arrive, it returns the whole frames it has.

Two framings exist and a sender picks one for the whole connection, so the first byte
decides: a digit means octet counting (``MSG-LEN SP SYSLOG-MSG``, RFC 5425 and RFC 6587
3.4.1), ``<`` means a message ended by LF (RFC 6587 3.4.2, what ``logger --tcp`` and most
appliances send). Anything else is not syslog and the connection is closed.

An oversized message is skipped, not fatal: with octet counting the length says exactly
where the next frame starts, and with LF framing the next LF does, so one bad message does
not cost the connection.
"""

from __future__ import annotations

from enum import Enum

from garrison.collectors.syslog.errors import FRAMING, OVERSIZED, TRUNCATED, ParseError

# Ten digits is already more than any max_message_bytes allows; more is garbage.
MAX_LENGTH_DIGITS = 10
# Bytes that separate frames and are ignored there: some senders end octet-counted frames
# with LF anyway, and LF-framed senders send blank lines or CRLF.
_FILLER = b"\r\n\0"


class Framing(Enum):
    UNKNOWN = "unknown"
    OCTET_COUNTING = "octet-counting"
    LF = "lf"


class FramingError(ParseError):
    """The stream cannot be split any further: the connection is to be closed."""

    def __init__(self, detail: str) -> None:
        super().__init__(FRAMING, detail)


class FrameDecoder:
    """One connection's framing state."""

    def __init__(self, max_message_bytes: int) -> None:
        self.max_message_bytes = max_message_bytes
        self.framing = Framing.UNKNOWN
        self._buffer = bytearray()
        self._skip = 0  # octet counting: bytes of an oversized frame still to discard
        self._discarding = False  # LF framing: inside an oversized line, until its LF
        self.failed = False

    def feed(self, data: bytes) -> list[bytes | ParseError]:
        """The frames completed by ``data``, in order. An oversized frame appears as a
        ParseError (it was skipped; the caller counts it). When the stream turns out not to
        be syslog the last item is a FramingError: close the connection; the decoder takes
        nothing more."""
        if self.failed:
            return []
        self._buffer += data
        out: list[bytes | ParseError] = []
        try:
            while self._next(out):
                pass
        except FramingError as exc:
            self.failed = True
            self._buffer.clear()
            out.append(exc)
        return out

    def close(self) -> list[bytes | ParseError]:
        """The connection ended. With LF framing a last line without its LF is whole (simple
        senders close without one) and is returned; an octet-counted frame cut short is
        returned as a TRUNCATED error."""
        pending = bytes(self._buffer).strip(_FILLER)
        self._buffer.clear()
        skipping, self._skip = self._skip, 0
        if self.failed or skipping or not pending:
            return []  # nothing, or the rest of an oversized frame already counted
        if self.framing is Framing.LF:
            if self._discarding:
                return []
            return [pending]
        return [ParseError(TRUNCATED, f"connection closed {len(pending)} bytes into a frame")]

    @property
    def pending(self) -> int:
        """Bytes held waiting for the rest of a frame."""
        return len(self._buffer)

    def _next(self, out: list[bytes | ParseError]) -> bool:
        """Take one frame (or skip some bytes) from the buffer; False when more is needed."""
        if self._skip:
            n = min(self._skip, len(self._buffer))
            del self._buffer[:n]
            self._skip -= n
            return bool(self._buffer)
        if self.framing is Framing.LF:
            return self._next_line(out)
        # Between frames: drop filler, then the first byte says what follows.
        start = 0
        while start < len(self._buffer) and self._buffer[start] in _FILLER:
            start += 1
        if start:
            del self._buffer[:start]
        if not self._buffer:
            return False
        first = self._buffer[0]
        if self.framing is Framing.UNKNOWN:
            if 0x30 <= first <= 0x39:
                self.framing = Framing.OCTET_COUNTING
            elif first == 0x3C:  # "<"
                self.framing = Framing.LF
                return True
            else:
                raise FramingError(
                    f"the first byte {bytes([first])!r} starts neither an octet count nor <PRI>"
                )
        return self._next_counted(out)

    def _next_counted(self, out: list[bytes | ParseError]) -> bool:
        space = self._buffer.find(b" ", 0, MAX_LENGTH_DIGITS + 1)
        if space < 0:
            if len(self._buffer) > MAX_LENGTH_DIGITS or not self._buffer.isdigit():
                raise FramingError(f"expected an octet count, got {bytes(self._buffer[:16])!r}")
            return False  # the count is still arriving
        digits = bytes(self._buffer[:space])
        if not digits.isdigit() or digits.startswith(b"0"):
            raise FramingError(f"expected an octet count, got {bytes(self._buffer[:16])!r}")
        length = int(digits)
        if length > self.max_message_bytes:
            del self._buffer[: space + 1]
            self._skip = length
            out.append(
                ParseError(OVERSIZED, f"{length} bytes, over the limit of {self.max_message_bytes}")
            )
            return True
        end = space + 1 + length
        if len(self._buffer) < end:
            return False
        out.append(bytes(self._buffer[space + 1 : end]))
        del self._buffer[:end]
        return True

    def _next_line(self, out: list[bytes | ParseError]) -> bool:
        newline = self._buffer.find(b"\n")
        if newline < 0:
            if len(self._buffer) > self.max_message_bytes:
                if not self._discarding:
                    out.append(
                        ParseError(
                            OVERSIZED,
                            f"a line longer than the limit of {self.max_message_bytes} bytes",
                        )
                    )
                self._discarding = True
                self._buffer.clear()
            return False
        line = bytes(self._buffer[:newline])
        del self._buffer[: newline + 1]
        if self._discarding:
            self._discarding = False  # the end of the oversized line: carry on after it
            return True
        line = line.rstrip(b"\r\0")
        if len(line) > self.max_message_bytes:
            out.append(
                ParseError(
                    OVERSIZED, f"{len(line)} bytes, over the limit of {self.max_message_bytes}"
                )
            )
        elif line.strip(_FILLER):
            out.append(line)
        return True
