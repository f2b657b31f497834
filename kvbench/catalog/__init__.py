"""The catalogue: every rung, peer and experiment declared once; the rest of kvbench reads it.

`ladder` (the rungs, with what each sets out to remove and where its store keeps its
bound), `peers` (the rows of `kvbench peers` and the packages they bring), `experiments`
(each part of a results folder: its folder, the file that says it is whole, its title and
the one `kvbench` command that measures it). The services themselves, their apps and
server flags, are still declared in kvbench/services.py, which the catalogue reads: the
committed results hash that file, so it moves here with the next re-measurement.
"""
