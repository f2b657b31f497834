"""The optimized key-value service: the end of the measured ladder in docs/04."""
