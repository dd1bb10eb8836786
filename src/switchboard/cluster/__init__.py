"""Several Switchboard nodes sharing one PostgreSQL: account leases and the cross-node event tail.

- :mod:`~switchboard.cluster.balance`: how many leases a node should take or give back (pure).
- :mod:`~switchboard.cluster.leases`: the ``nodes`` and ``leases`` tables, one transaction per step.
- :mod:`~switchboard.cluster.node`: a node's lease loop, starting and stopping accounts it wins
  and loses through a :class:`~switchboard.cluster.node.LeaseHolder`.
- :mod:`~switchboard.cluster.tail`: reads the shared event log on NOTIFY and hands every event,
  from every node, to the local fan-out exactly once.

``docs/scaling.md`` explains the model and the failure behaviour.
"""
