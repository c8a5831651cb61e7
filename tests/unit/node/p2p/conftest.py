"""py-libp2p leaves a few sockets to the garbage collector when a host stops mid-dial;
collect them inside each test, with ResourceWarning ignored, so they do not surface
later as unraisable warnings in an unrelated test."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _collect_libp2p_sockets() -> Iterator[None]:
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
