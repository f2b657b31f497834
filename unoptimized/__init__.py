"""The naive key-value service: what a reasonable developer writes first."""
