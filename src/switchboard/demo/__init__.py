"""The zero-setup demo: ``switchboard demo`` runs an embedded IMAP server, the server and a worker.

:mod:`switchboard.demo.imapserver` runs pymap in-process; :mod:`switchboard.demo.run` wires it to
the Switchboard server and the listener worker; :mod:`switchboard.cli.demo` registers the command.
Nothing here is imported by the rest of the package, so pymap stays an optional dependency.
"""
