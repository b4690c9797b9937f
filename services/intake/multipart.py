"""Streaming multipart/form-data: the form's fields and its one file, read straight from the
request body in chunks (werkzeug's sans-IO decoder), so an upload is never held in memory or
spooled to disk before it reaches object storage.

Browsers send the fields in form order: the upload forms put the file last, so its metadata is
known before the first byte of the file. Fields after the file are read once the file is done.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import (
    NEED_DATA,
    Data,
    Epilogue,
    Field,
    File,
    MultipartDecoder,
)

READ_SIZE = 1024 * 1024
MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 32


class MultipartError(ValueError):
    """The body is not a well-formed form with at most one file."""


@dataclass
class FilePart:
    name: str
    filename: str
    content_type: str | None
    chunks: Iterator[bytes]


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    file: FilePart | None = None


class MultipartReader:
    def __init__(self, stream: IO[bytes], content_type: str | None) -> None:
        mimetype, options = parse_options_header(content_type or "")
        boundary = options.get("boundary", "")
        if mimetype != "multipart/form-data" or not boundary:
            raise MultipartError("expected multipart/form-data with a boundary")
        self._stream = stream
        # The decoder's memory limit would count file data too: fields are limited below.
        self._decoder = MultipartDecoder(boundary.encode(), max_parts=MAX_PARTS)
        self._eof = False
        self.form = Form()

    def _events(self) -> Iterator[object]:
        try:
            yield from self._decode()
        except MultipartError:
            raise
        except RequestEntityTooLarge as exc:
            raise MultipartError(f"more than {MAX_PARTS} parts") from exc
        except ValueError as exc:  # werkzeug's decoder: a body cut short inside a part
            raise MultipartError(str(exc)) from exc

    def _decode(self) -> Iterator[object]:
        while True:
            event = self._decoder.next_event()
            if event is NEED_DATA:
                if self._eof:
                    raise MultipartError("the form ended before its closing boundary")
                chunk = self._stream.read(READ_SIZE)
                self._eof = not chunk
                self._decoder.receive_data(chunk or None)
                continue
            yield event
            if isinstance(event, Epilogue):
                return

    def read_until_file(self) -> Form:
        """Read fields until the file part starts (or the form ends); `form.file` streams it."""
        self._iter = self._events()
        current: str | None = None
        value = bytearray()
        for event in self._iter:
            if isinstance(event, Field):
                current, value = event.name, bytearray()
            elif isinstance(event, File):
                if self.form.file is not None:
                    raise MultipartError("only one file per upload")
                self.form.file = FilePart(event.name, event.filename,
                                          event.headers.get("Content-Type"), self._file_chunks())
                return self.form
            elif isinstance(event, Data) and current is not None:
                current = self._field_data(current, value, event)
        return self.form

    def _field_data(self, name: str, value: bytearray, event: Data) -> str | None:
        value += event.data
        if len(value) > MAX_FIELD_BYTES:
            raise MultipartError(f"field {name!r} is longer than {MAX_FIELD_BYTES} bytes")
        if event.more_data:
            return name
        self.form.fields[name] = value.decode("utf-8", errors="replace")
        return None

    def _file_chunks(self) -> Iterator[bytes]:
        for event in self._iter:
            if isinstance(event, Data):
                if event.data:
                    yield event.data
                if not event.more_data:
                    return
        raise MultipartError("the file part ended unexpectedly")

    def read_rest(self) -> Form:
        """The fields that follow the file (the file must have been read to its end)."""
        current: str | None = None
        value = bytearray()
        for event in self._iter:
            if isinstance(event, File):
                raise MultipartError("only one file per upload")
            if isinstance(event, Field):
                current, value = event.name, bytearray()
            elif isinstance(event, Data) and current is not None:
                current = self._field_data(current, value, event)
        return self.form
