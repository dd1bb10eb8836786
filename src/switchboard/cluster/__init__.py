"""Several Switchboard nodes sharing one PostgreSQL: account leases and the cross-node event tail.

- :mod:`~switchboard.cluster.placement`: the server's account placement for a cluster node, which
  owns everything below for one node (built by ``switchboard serve`` when ``store_url`` is set).

- :mod:`~switchboard.cluster.balance`: how many leases a node should take or give back (pure).
- :mod:`~switchboard.cluster.leases`: the ``nodes`` and ``leases`` tables, one transaction per step.
- :mod:`~switchboard.cluster.node`: a node's lease loop, starting and stopping accounts it wins
  and loses through a :class:`~switchboard.cluster.node.LeaseHolder`.
- :mod:`~switchboard.cluster.holder`: the lease loop's hands on the engine.
- :mod:`~switchboard.cluster.tail`: reads the shared event log on NOTIFY and hands every event,
  from every node, to the local fan-out exactly once.
- :mod:`~switchboard.cluster.notices`: "this account changed" and "apply its watches" between
  nodes.

``docs/scaling.md`` explains the model and the failure behaviour.
"""
