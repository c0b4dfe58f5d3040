"""Reading an ingestion request (size limit) and answering what processing said."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http.request import RawPostDataException
from rest_framework.request import Request

from statux.errors import StatuxError
from webhooks.normalizers.base import InvalidPayload


class PayloadTooLarge(StatuxError):
    status, code = 413, "payload_too_large"


class PayloadRejected(StatuxError):
    """A stored, dead-lettered payload: 400 for not-JSON or an unknown source, else the surface's choice."""

    def __init__(self, exc: InvalidPayload, *, invalid_status: int) -> None:
        super().__init__(str(exc))
        self.code = getattr(exc, "code", "invalid_payload")
        self.status = invalid_status if self.code == "invalid_payload" else 400


def read_body(request: Request) -> bytes:
    limit = settings.INGEST_MAX_BODY_BYTES
    try:
        body = request.body
    except RequestDataTooBig:
        raise PayloadTooLarge(f"The body is larger than the {limit} bytes allowed.") from None
    except RawPostDataException:  # a multipart form was parsed before us: not a JSON payload
        raise StatuxError("Send a JSON body, not a form.") from None
    if len(body) > limit:
        raise PayloadTooLarge(f"The body is larger than the {limit} bytes allowed.")
    return body
