"""Receiving one soft copy: sniff its real type from the first bytes, stream it to object
storage while the request is still arriving, check an Office archive's structure, and hand back
what was stored. Anything refused leaves no object behind.

The request thread parses the body; a second thread streams it on to S3 (`_pipelined_put`), at
most `PIPE_DEPTH` chunks apart, so receiving and storing overlap with bounded memory.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from services.intake.filetypes import (
    SNIFF_BYTES,
    FileKind,
    Reason,
    RejectedFile,
    check_declared,
    inspect_office_archive,
    sanitize_filename,
    sniff,
)
from shared.storage import ObjectStore, StorageError, StoredObject

PIPE_DEPTH = 8
_END = object()


@dataclass(frozen=True)
class ReceivedFile:
    stored: StoredObject
    kind: FileKind
    filename: str


class _ProducerFailed(Exception):
    """The request side stopped (client gone, body malformed): abandon the object."""


def receive_file(store: ObjectStore, *, key: str, chunks: Iterator[bytes],
                 declared_type: str | None, filename: str | None,
                 allowed: frozenset[FileKind], max_bytes: int) -> ReceivedFile:
    """Store the file's bytes at `key` if they are an allowed document; else raise
    RejectedFile (415), ObjectTooLarge (413) or StorageError (503), leaving nothing stored."""
    head, rest = _head(chunks)
    sniffed = sniff(head)
    if not head:
        raise RejectedFile(Reason.EMPTY, "Berkas kosong. Pilih berkas yang berisi dokumen.")
    if sniffed is None:
        raise RejectedFile(Reason.UNKNOWN_TYPE, "Jenis berkas tidak dikenali. "
                           f"Unggah {kinds_text(allowed)}.")
    if isinstance(sniffed, FileKind):
        _check_kind(sniffed, allowed, declared_type, filename)
    content_type = sniffed.mime_type if isinstance(sniffed, FileKind) else "application/zip"
    stored = _pipelined_put(store, key, itertools.chain([head], rest), content_type, max_bytes)
    try:
        kind = sniffed if isinstance(sniffed, FileKind) else _office_kind(store, stored)
        _check_kind(kind, allowed, declared_type, filename)
    except BaseException:
        store.delete(key, missing_ok=True)
        raise
    return ReceivedFile(stored=stored, kind=kind,
                        filename=sanitize_filename(filename, kind=kind))


def _check_kind(kind: FileKind, allowed: frozenset[FileKind], declared_type: str | None,
                filename: str | None) -> None:
    if kind not in allowed:
        raise RejectedFile(Reason.NOT_ALLOWED, f"Berkas {kind.label} tidak diterima di sini. "
                           f"Unggah {kinds_text(allowed)}.")
    check_declared(kind, declared_type, filename)


def kinds_text(kinds: frozenset[FileKind]) -> str:
    """The kinds by name in the platform's usual order, e.g. "PDF, DOCX atau ODT"."""
    names = [k.value.upper() for k in FileKind if k in kinds]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} atau {names[-1]}"


def _office_kind(store: ObjectStore, stored: StoredObject) -> FileKind:
    reader = store.open_seekable(stored.key, stored.size)
    try:
        return inspect_office_archive(reader)
    finally:
        reader.close()


def _head(chunks: Iterator[bytes]) -> tuple[bytes, Iterator[bytes]]:
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head) >= SNIFF_BYTES:
            break
    return head, chunks


class _Pipe:
    """Chunks from the request thread to the storing thread, as a file-like `read`.

    `read(n)` gathers up to n bytes and joins them once: minio asks for a whole part at a time
    and appends what each read returns, so handing over one small chunk per read would make it
    copy the growing part again and again.
    """

    def __init__(self) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=PIPE_DEPTH)
        self._leftover = b""
        self._ended = False

    def put(self, item: object) -> None:
        self._queue.put(item)

    def read(self, n: int = -1) -> bytes:
        pieces = [self._leftover] if self._leftover else []
        size = len(self._leftover)
        self._leftover = b""
        while not self._ended and (n < 0 or size < n):
            item = self._queue.get()
            if item is _END:
                self._ended = True
                break
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, bytes)
            pieces.append(item)
            size += len(item)
        data = b"".join(pieces)
        if 0 <= n < len(data):
            data, self._leftover = data[:n], data[n:]
        return data

    def drain(self) -> None:
        """Unblock a producer waiting on a full queue once the consumer has stopped."""
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()


def _pipelined_put(store: ObjectStore, key: str, chunks: Iterator[bytes], content_type: str,
                   max_bytes: int) -> StoredObject:
    pipe = _Pipe()
    outcome: dict[str, object] = {}

    def consume() -> None:
        try:
            outcome["stored"] = store.put_stream(key, pipe, content_type=content_type,
                                                 max_bytes=max_bytes)
        except BaseException as exc:  # handed to the request thread below
            outcome["error"] = exc
            pipe.drain()

    worker = threading.Thread(target=consume, name="upload-to-s3", daemon=True)
    worker.start()
    try:
        for chunk in chunks:
            if "error" in outcome:
                break
            pipe.put(chunk)
        pipe.put(_END)
    except BaseException as exc:
        pipe.put(_ProducerFailed(str(exc)))
        worker.join()
        store.delete(key, missing_ok=True)
        raise
    worker.join()
    error = outcome.get("error")
    if isinstance(error, BaseException):
        raise error
    stored = outcome["stored"]
    if not isinstance(stored, StoredObject):  # pragma: no cover - consume always sets one
        raise StorageError("upload finished without a result")
    return stored
