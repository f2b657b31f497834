"""The `orjson` rung: orjson instead of the standard library's json, still once per request."""

import orjson
from starlette.responses import Response

from ladder.step3_no_locks import JsonStore, build


class OrjsonStore(JsonStore):
    def answer(self, key: str) -> Response | None:
        value = self.values.get(key)
        if value is None:
            return None
        return Response(orjson.dumps({"key": key, "value": value}), media_type="application/json")


app = build(OrjsonStore())
