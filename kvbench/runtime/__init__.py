"""What the services under test import from the harness: the contract and the debug listener.

Nothing here imports any other part of kvbench, so a service never loads the harness.
"""
