"""The measured ladder from `unoptimized` to `optimized`, one change per rung (docs/04).

The five server rungs need no file: they are `unoptimized.app:app` with one more uvicorn
setting changed each (kvbench/services.py). Each file here changes one thing of the rung
before it and imports the rest, so `diff` between neighbours is the change itself.
"""
