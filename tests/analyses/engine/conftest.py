"""The RCA the engine drafts from: the same two linked incidents the provider tests send."""

from __future__ import annotations

import pytest

from analyses.providers.base import RcaContext
from tests.analyses.providers.conftest import checkout_outage_rca


@pytest.fixture
def rca_context() -> RcaContext:
    return checkout_outage_rca()
