"""The server's OpenAPI document, with the request and reply schemas of every endpoint generated from
the protocol's own classes (sfa/protocol.py), so the wire format is written down once.

The push body is read and checked by `PushRequest.parse` (a malformed mutation is rejected alone, not
the whole request), so FastAPI does not parse it; the schema is declared with `openapi_extra`.
FastAPI's stock 422 is never answered (the server maps validation errors to 400), so it is replaced by
the real error replies.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any, get_type_hints

import typing_extensions
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import TypeAdapter

from sfa import protocol

_REF = "#/components/schemas/{model}"
_MESSAGES = (
    protocol.PushRequest,
    protocol.PushResponse,
    protocol.PullResponse,
    protocol.Health,
    protocol.Me,
    protocol.ErrorReply,
)
_ERRORS = {
    400: "malformed body or parameter (the reason names the field)",
    401: "missing, unknown or revoked token",
    403: "the client id belongs to another user",
    408: "the body did not arrive within the read timeout (the connection is closed)",
    409: "reset needed: the server was restored or replaced (`reset` says which)",
    413: "body larger than 32 MiB, as sent or uncompressed (the connection is closed)",
    429: "too many unknown tokens from this address; wait the seconds of the Retry-After header",
}


def ref(name: str) -> dict[str, Any]:
    return {"$ref": _REF.format(model=name)}


def body(name: str) -> dict[str, Any]:
    """`openapi_extra` of an endpoint whose JSON body is the protocol message `name`."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref(name)}}}}


def replies(name: str, *errors: int) -> dict[int | str, dict[str, Any]]:
    """The `responses` of an endpoint answering the protocol message `name`, or an error."""
    out: dict[int | str, dict[str, Any]] = {
        200: {"description": "OK", "content": {"application/json": {"schema": ref(name)}}}
    }
    for code in errors:
        out[code] = {
            "description": _ERRORS[code],
            "content": {"application/json": {"schema": ref("ErrorReply")}},
        }
        if code == 429:
            out[code]["headers"] = {
                "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}
            }
    return out


def _schema_ready(cls: type) -> Any:
    """`cls` as pydantic can read it: on Python 3.11 pydantic needs typing_extensions' TypedDict for
    `Change` (the client keeps the stdlib one: typing_extensions costs start-up time)."""
    if cls is not protocol.PullResponse:
        return cls
    change = typing_extensions.TypedDict(  # type: ignore[misc]
        "Change", get_type_hints(protocol.Change), total=False
    )
    change.__doc__ = protocol.Change.__doc__
    hints = get_type_hints(cls)
    hints["changes"] = list[change]
    made = dataclasses.make_dataclass(
        cls.__name__, [(f.name, hints[f.name]) for f in dataclasses.fields(cls)]
    )
    made.__doc__ = cls.__doc__
    return made


@cache
def components() -> dict[str, Any]:
    """JSON schemas of every protocol message, keyed by class name."""
    out: dict[str, Any] = {}
    for cls in _MESSAGES:
        generated = TypeAdapter(_schema_ready(cls)).json_schema(ref_template=_REF)
        out.update(generated.pop("$defs", {}))
        out[cls.__name__] = generated
    out["Mutation"]["properties"].pop("problem", None)  # the server's note, never on the wire
    _bounds(out)
    return out


def _bounds(out: dict[str, Any]) -> None:
    """The ranges `PushRequest.parse` holds the protocol fields to (a dataclass cannot say them)."""
    push = out["PushRequest"]
    props = push["properties"]
    props["protocol"] = {"title": "Protocol", "type": "integer", "const": protocol.PROTOCOL}
    push["required"] = ["protocol", "client_id", "mutations"]
    props["client_id"].update(
        pattern=protocol.CLIENT_ID_PATTERN, minLength=1, maxLength=protocol.MAX_CLIENT_ID
    )
    props["mutations"]["maxItems"] = protocol.MAX_BATCH
    props["acked"].update(minimum=0, maximum=protocol.MAX_SEQ)
    props["cursor"]["anyOf"][0].update(minimum=0, maximum=protocol.MAX_SEQ)
    props["now"]["anyOf"][0].update(minimum=0, maximum=protocol.MAX_MS)
    mutation = out["Mutation"]["properties"]
    mutation["seq"].update(minimum=1, maximum=protocol.MAX_SEQ)
    mutation["fields"]["additionalProperties"].update(minItems=2, maxItems=2)


def openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title,
        version=app.version,
        routes=app.routes,
        description="The sfa sync protocol, docs/sync-protocol.md.",
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas.update(components())
    document["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.get("responses", {})
            responses.pop("422", None)
            if "parameters" in operation and "400" not in responses:
                responses["400"] = replies("ErrorReply", 400)[400]
            if path != "/v1/health":
                operation["security"] = [{"bearer": []}]
    app.openapi_schema = document
    return document
