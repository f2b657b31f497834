"""The measured ladder from `unoptimized` to `optimized`, one change per rung (docs/04).

Rung 1 (server settings) needs no file: it is `unoptimized.app:app` with the tuned
uvicorn flags. Each file here changes one thing of the rung before it and imports the
rest, so `diff` between neighbours is the change itself.
"""
