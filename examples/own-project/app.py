"""A reader's own app, in a project of its own: Starlette, with msgspec for its JSON.

msgspec is not a dependency of kvbench: this folder's requirements.txt brings it, into the
project's own venv, beside `kvbench[bench]` (docs/10-your-own-app.md, "The one command").
"""

from typing import Annotated

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


class Item(msgspec.Struct):
    id: int
    name: str
    price_cents: int


class Order(msgspec.Struct, forbid_unknown_fields=True):
    item_id: int
    quantity: Annotated[int, msgspec.Meta(ge=1)]


class Quote(msgspec.Struct):
    item: Item
    quantity: int
    total_cents: int


ITEMS = {1: Item(1, "tea", 450), 2: Item(2, "scone", 300)}
encode = msgspec.json.Encoder().encode
decode_order = msgspec.json.Decoder(Order).decode


def json(value: object, status: int = 200) -> Response:
    return Response(encode(value), status_code=status, media_type="application/json")


async def item(request: Request) -> Response:
    found = ITEMS.get(request.path_params["item_id"])
    if found is None:
        return json({"error": "no such item"}, 404)
    return json(found)


async def quote(request: Request) -> Response:
    """POST /quote: the price of an order, computed, nothing stored."""
    try:
        order = decode_order(await request.body())
    except msgspec.DecodeError as error:  # malformed JSON, or a field of the wrong kind
        return json({"error": str(error)}, 422)
    found = ITEMS.get(order.item_id)
    if found is None:
        return json({"error": "no such item"}, 404)
    return json(Quote(found, order.quantity, found.price_cents * order.quantity))


app = Starlette(
    routes=[Route("/items/{item_id:int}", item), Route("/quote", quote, methods=["POST"])]
)
