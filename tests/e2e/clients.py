"""Load from other OS processes: each runs its own event loop and HTTP client."""

from __future__ import annotations

import asyncio
import multiprocessing
from dataclasses import dataclass
from typing import Any

import httpx

PAY = """
mutation Pay($input: PayBillInput!) {
  payBill(input: $input) {
    payment { id status amount { amount } }
    errors { code }
  }
}
"""


@dataclass(frozen=True)
class Batch:
    """Requests one client process sends, `concurrency` at a time, to one of `urls`."""

    urls: tuple[str, ...]
    headers: dict[str, str]
    inputs: list[dict[str, Any]]
    concurrency: int = 8
    document: str = PAY


def send(batch: Batch) -> list[dict[str, Any]]:
    """Send every request of the batch; the JSON answers with the input that produced them."""
    return asyncio.run(_send(batch))


async def _send(batch: Batch) -> list[dict[str, Any]]:
    gate = asyncio.Semaphore(batch.concurrency)
    async with httpx.AsyncClient(headers=batch.headers, timeout=60) as client:

        async def one(index: int, variables: dict[str, Any]) -> dict[str, Any]:
            url = batch.urls[index % len(batch.urls)]
            async with gate:
                response = await client.post(
                    url, json={"query": batch.document, "variables": {"input": variables}}
                )
            return {"input": variables, "status": response.status_code, "body": response.json()}

        return list(await asyncio.gather(*(one(i, v) for i, v in enumerate(batch.inputs))))


def send_from_processes(batches: list[Batch]) -> list[dict[str, Any]]:
    """Run each batch in its own OS process (spawned) and gather every answer."""
    with multiprocessing.get_context("spawn").Pool(processes=len(batches)) as pool:
        answers = pool.map(send, batches)
    return [answer for batch in answers for answer in batch]
