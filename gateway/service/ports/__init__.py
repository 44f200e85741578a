"""What the use cases need from the outside, as small protocols: bootstrap wires the adapters, tests fakes.

One module per port: the ledger and its unit of work (ledger.py), a city's drop (transport.py), the spool
(spool.py), the checks and the gateway's signed replies (checks.py), the transfer log (events.py). Every member
a use case calls is declared on its port; nothing is probed with getattr.
"""
