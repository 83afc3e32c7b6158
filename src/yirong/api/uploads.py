"""A file sent to the API, two ways: the file's bytes as the whole body (how existing
clients send a CSV, with its own Content-Type), or a ``multipart/form-data`` form with
the file in its ``file`` field, on the same path with ``/form`` added (what browsers
and client generators make). Two routes rather than one with two request body types:
openapi-python-client drops a route whose only body is ``text/csv`` and writes broken
code for a body with two types (its issue #1451), so each route documents one type it
handles. The middleware has already bounded the body's size and type."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from yirong.errors import YirongError

MULTIPART = "multipart/form-data"
FIELD = "file"
FORM_SUFFIX = "/form"
# The bare body's media types each kind of file may come as.
CSV_TYPES = ("text/csv", "text/plain", "application/octet-stream")
# A statement of any layout: CSV or MT940 text, camt.053 XML, an XLSX export.
STATEMENT_TYPES = (
    "text/csv",
    "text/plain",
    "application/xml",
    "text/xml",
    "application/octet-stream",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)
# An order's document (contract, invoice, delivery receipt): a scan or a PDF.
DOCUMENT_TYPES = ("application/pdf", "image/jpeg", "image/png", "application/octet-stream")
# What a form adds around its file (the boundary, the part's headers), at most.
FORM_ROOM = 64 * 1024
# The multipart forms' schemas, by name: the app puts them in the document's components
# so that a generated client names each form plainly (an inline schema gets a name
# made of the route's).
_FORMS: dict[str, dict[str, Any]] = {}

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def upload_route(
    router: APIRouter,
    path: str,
    *,
    form: str,
    what: str,
    media_types: tuple[str, ...],
    summary: str,
    **route: Any,
) -> Callable[[Endpoint], Endpoint]:
    """Registers the endpoint twice: at ``path`` for the bare body and at ``path/form``
    for the form named ``form`` (a schema name of the document)."""
    schema = {
        "title": form,
        "type": "object",
        "required": [FIELD],
        "properties": {FIELD: {"type": "string", "format": "binary", "description": what}},
    }
    if _FORMS.setdefault(form, schema) != schema:
        raise ValueError(f"two upload forms are named {form}")
    # The one raw type generators take names the bare body; the prose names them all.
    bare = _body(
        f"{what}: the file's bytes as the whole body, with Content-Type "
        f"{', '.join(media_types)} (or send it as a form to {path}{FORM_SUFFIX})",
        {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    )
    as_form = _body(
        f"{what}, in the form's `{FIELD}` field",
        {MULTIPART: {"schema": {"$ref": f"#/components/schemas/{form}"}}},
    )

    def register(endpoint: Endpoint) -> Endpoint:
        router.post(path, summary=summary, openapi_extra=bare, **route)(endpoint)
        router.post(
            path + FORM_SUFFIX,
            summary=f"{summary} (the file in a {MULTIPART} form)",
            openapi_extra=as_form,
            **route,
        )(endpoint)
        return endpoint

    return register


def _body(description: str, content: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "description": description, "content": content}}


def form_schemas() -> dict[str, dict[str, Any]]:
    """Every upload form's schema, for the document's components."""
    return dict(_FORMS)


def is_form(request: Request) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip().lower() == MULTIPART


async def uploaded_file(request: Request) -> bytes:
    """The file's bytes, whichever way it came. A form is read once per request and its
    file kept: the idempotency key's fingerprint is taken over the file, not over the
    form, whose boundary a client draws afresh for each retry."""
    if not is_form(request):
        return await request.body()
    kept: bytes | None = getattr(request.state, "uploaded_file", None)
    if kept is not None:
        return kept
    try:
        form = await request.form(max_files=1, max_fields=10)
    except HTTPException as exc:  # a malformed form, or more than one file
        raise YirongError("upload_invalid", reason=str(exc.detail)[:200]) from exc
    try:
        found = form.get(FIELD)
        # A text field is decoded by the form parser: a GBK bank export would not
        # survive it, so only a file part is taken.
        if not isinstance(found, UploadFile):
            raise YirongError("upload_invalid", reason=f"no file in the form's {FIELD} field")
        content = await found.read()
    finally:
        await form.close()
    request.state.uploaded_file = content
    return content


UploadedFile = Annotated[bytes, Depends(uploaded_file)]
