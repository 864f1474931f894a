"""The embedding cache: one file per model in ``cacheDir/embeddings/``, vectors keyed by the SHA-1 of the text
they embed, so a restart or a one-entry edit embeds only what changed (``retrieval.embeddings.dense``)."""

from __future__ import annotations

import contextlib
import logging
import os
import threading

import numpy as np

from texcite.bib.diskcache import open_archive, private_file
from texcite.files import open_regular
from texcite.lru import BoundedCache

log = logging.getLogger(__name__)

MAX_CACHED_VECTORS = 250_000  # the two views of a 100k-entry bib, and room: ~230 MB on disk for 384 dimensions
MAX_FILE_BYTES = MAX_CACHED_VECTORS * (160 + 2 * 1024) + (1 << 20)  # keys (U40) and float16 vectors up to 1024-d
MAX_NORM = 1.01           # stored vectors are unit vectors (or zero) in float16


class EmbeddingCache:
    """Per-model embeddings on disk, keyed by the sha1 of the embedded text (npz, atomic replace, corrupt -> rebuilt).

    Bounded: the ``MAX_CACHED_VECTORS`` most recently used vectors are kept, a file bigger than ``MAX_FILE_BYTES``
    is not read, and only finite vectors of at most unit length are taken from it (the rest are embedded again).
    The folder is 0700 and the file 0600 whatever the umask; a special file in its place is ignored, never waited on.
    """

    def __init__(self, directory: str, model_id: str) -> None:
        self.path = os.path.join(directory, "embeddings", f"{model_id}.npz")
        self._vectors: BoundedCache[str, np.ndarray] = BoundedCache(MAX_CACHED_VECTORS)
        self._lock = threading.Lock()
        self._dirty = False
        self._load()

    def _load(self) -> None:
        if not os.path.lexists(self.path):
            return
        try:
            with open_regular(self.path, MAX_FILE_BYTES) as fh, open_archive(fh, MAX_FILE_BYTES) as data:
                keys, vecs = data["keys"], data["vectors"]
            if keys.ndim != 1 or vecs.ndim != 2 or len(keys) != len(vecs) or keys.dtype.kind != "U" \
                    or vecs.dtype.kind != "f":
                raise ValueError("not a table of keys and vectors")
        except Exception as err:  # a truncated, foreign, huge or special file: start afresh, it is only a cache
            log.warning("embedding cache %s unreadable (%s); rebuilding it", self.path, err)
            return
        vecs = vecs.astype(np.float32)
        lengths = np.einsum("ij,ij->i", vecs, vecs)
        usable = np.isfinite(lengths) & (lengths <= MAX_NORM ** 2)  # NaN and infinity fail both
        if not usable.all():
            log.warning("embedding cache %s: %d vectors not finite unit vectors; embedding them again",
                        self.path, int((~usable).sum()))
        for i in np.flatnonzero(usable):
            self._vectors.put(str(keys[i]), vecs[i].copy())

    def __len__(self) -> int:
        return len(self._vectors)

    def get(self, digest: str) -> np.ndarray | None:
        return self._vectors.get(digest)

    def put(self, digest: str, vector: np.ndarray) -> None:
        with self._lock:
            self._vectors.put(digest, vector)
            self._dirty = True

    def save(self) -> None:
        """Write atomically (temp file + rename); failures are logged, never raised (the cache is optional)."""
        with self._lock:
            if not self._dirty:
                return
            items = self._vectors.items()
            keys = np.array([k for k, _ in items], dtype="U40")
            vecs = np.stack([v for _, v in items]).astype(np.float16) if items else np.zeros((0, 0), np.float16)
            self._dirty = False
        tmp = None
        try:
            fh, tmp = private_file(os.path.dirname(self.path), suffix=".tmp")
            with fh:
                np.savez(fh, keys=keys, vectors=vecs)
            os.replace(tmp, self.path)
            tmp = None
        except OSError as err:
            log.warning("cannot write embedding cache %s: %s", self.path, err)
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
