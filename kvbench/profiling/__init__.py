"""Profiles of the two services: py-spy flamegraphs, scalene line profiles, memray allocations."""
