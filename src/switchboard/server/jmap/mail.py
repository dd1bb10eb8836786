"""Register the JMAP mail methods (RFC 8621) in the method registry.

Served here: Mailbox/get, Mailbox/query, Email/get, Email/query, Thread/get (capability
``urn:ietf:params:jmap:mail``) and Identity/get (``urn:ietf:params:jmap:submission``). The
changes methods and Email/set are registered beside them by their own modules.
"""

from __future__ import annotations

from switchboard.jmap.capabilities import MAIL, SUBMISSION
from switchboard.server.jmap.emails import EmailMethods
from switchboard.server.jmap.identities import IdentityMethods
from switchboard.server.jmap.mailbase import MailServices
from switchboard.server.jmap.mailboxes import MailboxMethods
from switchboard.server.jmap.registry import MethodRegistry
from switchboard.server.jmap.threads import ThreadMethods

__all__ = ["register_mail_reads"]


def register_mail_reads(registry: MethodRegistry, services: MailServices) -> None:
    """Serve the read methods of RFC 8621 from ``services``."""
    mailboxes = MailboxMethods(services)
    emails = EmailMethods(services)
    registry.register("Mailbox/get", MAIL, mailboxes.get)
    registry.register("Mailbox/query", MAIL, mailboxes.query)
    registry.register("Email/get", MAIL, emails.get)
    registry.register("Email/query", MAIL, emails.query)
    registry.register("Thread/get", MAIL, ThreadMethods(services).get)
    registry.register("Identity/get", SUBMISSION, IdentityMethods(services).get)
