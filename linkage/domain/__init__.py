"""Contracts and models: what the platforms exchange and the workflows carry, with the district's
tables (time limits, catalogue, routing, units). No database, network or Temporal client code:
workflows import these as they are.
"""
