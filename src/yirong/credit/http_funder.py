"""A funder whose own system decides: the platform POSTs pseudonymous features, signed,
and reads back offers, signed by the funder with the same shared secret.

Request: ``POST <endpoint>`` with JSON ``{"funder", "business_date", "products": [...],
"agents": [{"token", "features": {...}}]}`` and headers ``X-Yirong-Timestamp`` and
``X-Yirong-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>``.
Answer: ``{"offers": [{"token", "product", "limit", "annual_rate", "term_days"}]}`` with
``X-Funder-Timestamp`` and ``X-Funder-Signature`` made the same way. Amounts are fen,
rates decimal strings ("0.15"). Timeouts and server errors are retried with backoff;
anything else wrong is refused at once."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from yirong.credit.deciders import Proposal, Pseudonymous
from yirong.errors import YirongError
from yirong.funders.tables import Funder, FunderProduct
from yirong.infra import signing
from yirong.infra.outbound import guarded_client
from yirong.money import MAX_AMOUNT_FEN, ppm_to_rate

CHUNK = 2_000


class _Offer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=64)
    product: str = Field(min_length=1, max_length=32)
    limit: int = Field(gt=0, le=MAX_AMOUNT_FEN)
    annual_rate: Decimal = Field(gt=0, lt=1)
    term_days: int = Field(gt=0, le=366)


class _Offers(BaseModel):
    model_config = ConfigDict(extra="forbid")

    offers: list[_Offer]


@dataclass(frozen=True, slots=True)
class HttpPolicy:
    connect_timeout: float = 2.0
    read_timeout: float = 10.0  # between two pieces of the answer
    deadline: float = 30.0  # for a whole answer: a trickle cannot hold a run hostage
    max_answer_bytes: int = 20_000_000
    attempts: int = 3
    backoff_seconds: float = 0.2


class _TooSlow(httpx.TimeoutException):
    """The answer did not finish within the deadline."""


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    headers: httpx.Headers
    body: bytes


class HttpDecider:
    def __init__(
        self,
        business_date: date,
        policy: HttpPolicy | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.business_date = business_date
        self.policy = policy or HttpPolicy()
        self.client = client

    def propose(
        self, funder: Funder, products: Sequence[FunderProduct], agents: Sequence[Pseudonymous]
    ) -> list[Proposal]:
        if not funder.endpoint_url or not funder.endpoint_secret:
            raise YirongError("endpoint_invalid", funder=funder.code)
        timeout = httpx.Timeout(self.policy.read_timeout, connect=self.policy.connect_timeout)
        client = self.client or guarded_client(timeout)
        try:
            proposals: list[Proposal] = []
            for start in range(0, len(agents), CHUNK):
                body = self._body(funder, products, agents[start : start + CHUNK])
                proposals.extend(self._ask(client, funder, body))
            return proposals
        finally:
            if self.client is None:
                client.close()

    def _body(
        self, funder: Funder, products: Sequence[FunderProduct], agents: Sequence[Pseudonymous]
    ) -> bytes:
        return json.dumps(
            {
                "funder": funder.code,
                "business_date": self.business_date.isoformat(),
                "products": [
                    {
                        "code": p.code,
                        "kind": p.kind,
                        "method": p.method,
                        "min_rate": str(ppm_to_rate(p.min_rate_ppm)),
                        "max_rate": str(ppm_to_rate(p.max_rate_ppm)),
                        "min_limit": p.min_limit,
                        "max_limit": p.max_limit,
                        "min_term_days": p.min_term_days,
                        "max_term_days": p.max_term_days,
                    }
                    for p in products
                ],
                "agents": [{"token": a.token, "features": a.features.as_dict()} for a in agents],
            },
            separators=(",", ":"),
        ).encode()

    def _ask(self, client: httpx.Client, funder: Funder, body: bytes) -> list[Proposal]:
        secret = funder.endpoint_secret or ""
        url = funder.endpoint_url or ""
        last: Exception | None = None
        for attempt in range(self.policy.attempts):
            if attempt:
                time.sleep(self.policy.backoff_seconds * 2 ** (attempt - 1))
            timestamp, sig = signing.sign(secret, body)
            headers = {
                "Content-Type": "application/json",
                "X-Yirong-Timestamp": timestamp,
                "X-Yirong-Signature": sig,
            }
            try:
                answer = self._post(client, url, body, headers)
            except httpx.TransportError as exc:  # timeouts, refused connections: try again
                last = exc
                continue
            except (httpx.HTTPError, _TooBig) as exc:  # undecodable, too large...: refuse
                raise YirongError(
                    "funder_bad_response", funder=funder.code, reason=type(exc).__name__
                ) from exc
            if answer.status >= 500:
                last = RuntimeError(f"HTTP {answer.status}")
                continue
            return self._read(funder, secret, answer)
        raise YirongError(
            "funder_unavailable",
            funder=funder.code,
            attempts=self.policy.attempts,
            last_error=type(last).__name__ if last else None,
        )

    def _post(self, client: httpx.Client, url: str, body: bytes, headers: dict[str, str]) -> _Reply:
        """The whole answer, read as a stream within the deadline and the size limit."""
        ends = time.monotonic() + self.policy.deadline
        with client.stream("POST", url, content=body, headers=headers) as response:
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.policy.max_answer_bytes:
                    raise _TooBig(size)
                if time.monotonic() > ends:
                    raise _TooSlow("the answer took longer than the deadline")
                chunks.append(chunk)
            return _Reply(response.status_code, response.headers, b"".join(chunks))

    @staticmethod
    def _read(funder: Funder, secret: str, answer: _Reply) -> list[Proposal]:
        if answer.status != 200:
            raise YirongError("funder_bad_response", funder=funder.code, status=answer.status)
        if not signing.verify(
            secret,
            answer.headers.get("X-Funder-Timestamp"),
            answer.body,
            answer.headers.get("X-Funder-Signature"),
        ):
            raise YirongError("funder_bad_signature", funder=funder.code)
        try:
            parsed = _Offers.model_validate_json(answer.body)
        except ValidationError as exc:
            raise YirongError(
                "funder_bad_response", funder=funder.code, reason=str(exc)[:300]
            ) from exc
        return [
            Proposal(o.token, o.product, o.limit, o.annual_rate, o.term_days) for o in parsed.offers
        ]


class _TooBig(Exception):
    """The answer was larger than any offer list could be."""
