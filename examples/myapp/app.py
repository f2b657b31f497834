"""A one-route Starlette app for `kvbench bench --app`: GET /items/{item_id} answers JSON."""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def item(request: Request) -> JSONResponse:
    item_id = request.path_params["item_id"]
    return JSONResponse({"id": item_id, "name": f"item {item_id}"})


app = Starlette(routes=[Route("/items/{item_id:int}", item)])
