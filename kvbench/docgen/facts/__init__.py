"""Named facts: the figures prose quotes inline, each a public function of the committed
results (`sources`, then the marker's arguments). A marker is a call of string literals:

    serves <!--v:median_ratio("run", "optimized", "unoptimized", "http_tps")-->11.3x<!--/v-->

`part` is `run` (the main run) or a part of the results with a summary (`RESULT_SETS`).
Facts live by theme: values and verdicts, the ladder, the profiles, the instrument's
evidence, the soak.
"""

import inspect
from collections.abc import Callable

from kvbench.docgen.facts import evidence, ladder, profiles, soak, values

THEMES = (values, ladder, profiles, evidence, soak)

# Every public function of a theme is a fact a marker may name.
FACTS: dict[str, Callable[..., str]] = {
    name: f
    for theme in THEMES
    for name, f in vars(theme).items()
    if inspect.isfunction(f) and f.__module__ == theme.__name__ and not name.startswith("_")
}
