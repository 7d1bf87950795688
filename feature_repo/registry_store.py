"""Feast's file registry, written atomically.

Feast's ``FileRegistryStore`` rewrites ``registry.db`` in place (``open(path, "wb")``): a running
service whose registry cache refreshes during a ``feast apply`` can read a truncated file and
answer 500 ("Feature service ... does not exist"). This store writes the registry the way
cryptovol writes every file (``cryptovol.files.atomic_write``: a temporary beside it, fsync,
rename), so a reader sees the old registry or the new one. ``feature_store.yaml`` selects it
with ``registry_store_type``.
"""

from __future__ import annotations

import uuid

from feast.infra.registry.file import FileRegistryStore
from feast.protos.feast.core.Registry_pb2 import Registry as RegistryProto
from feast.utils import _utc_now

from cryptovol import files


class AtomicFileRegistryStore(FileRegistryStore):
    def _write_registry(self, registry_proto: RegistryProto) -> None:
        registry_proto.version_id = str(uuid.uuid4())
        registry_proto.last_updated.FromDatetime(_utc_now())
        files.write_bytes(self._filepath, registry_proto.SerializeToString())
