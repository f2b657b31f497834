"""Load generation: the built-in generator, its workloads and framing, the canned server, wrk.

`run_load(LoadConfig(...))` is the whole public interface of the built-in generator.
"""
