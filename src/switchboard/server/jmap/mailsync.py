"""The JMAP methods that change mail and report changes: Email/set and the /changes family.

How it works:

- ``Email/set`` (RFC 8621 §4.6) maps each update onto the engine's writer: keywords become
  IMAP flags stored on the message (``UID STORE``), a change of ``mailboxIds`` becomes a move
  (``UID MOVE``, or COPY + ``\\Deleted`` + ``UID EXPUNGE``), and a destroy is ``\\Deleted`` +
  ``UID EXPUNGE`` of that UID alone. IMAP keeps a message in exactly one mailbox, so an update
  that would leave it in two is ``tooManyMailboxes`` and one that would leave it in none is
  ``invalidProperties``. ``create`` is ``forbidden``: creating an Email needs an uploaded blob,
  and uploads are not served. Every change that happened is written to the journal
  (:class:`~switchboard.server.jmap.states.LogStates`), which moves the states and pushes a
  ``StateChange`` at once.
- ``Email/changes``, ``Mailbox/changes`` and ``Thread/changes`` (RFC 8620 §5.2) page through
  the journal with :func:`switchboard.jmap.state.changes_since`.
- ``Email/queryChanges`` and ``Mailbox/queryChanges`` are always ``cannotCalculateChanges``:
  query results are not kept, so the client runs the query again (RFC 8620 §5.6 allows
  exactly that).

Ids without RFC 8474 OBJECTID name the message's mailbox and UID (docs/jmap.md, "Ids"), so a
moved message gets a new id: the old id is reported destroyed and the new one created.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Sequence
from typing import Protocol

from switchboard.engine.errors import (
    EngineError,
    ImapFailure,
    MailboxNotFound,
    NotSupported,
    StaleMailbox,
)
from switchboard.engine.writer import Capabilities
from switchboard.jmap.arguments import parse_account_id, parse_changes
from switchboard.jmap.capabilities import MAIL
from switchboard.jmap.dispatch import MethodCall, MethodResult
from switchboard.jmap.emailset import EmailUpdate, parse_email_set
from switchboard.jmap.errors import (
    AccountNotFound,
    CannotCalculateChanges,
    ServerPartialFail,
    ServerUnavailable,
    SetError,
    SetForbidden,
    SetNotFound,
    SetWillDestroy,
    StateMismatch,
)
from switchboard.jmap.ids import email_id, mailbox_id, thread_id
from switchboard.jmap.journal import Edit
from switchboard.jmap.jsonvalue import JsonObject, JsonValue
from switchboard.jmap.state import ChangeKind, changes_since
from switchboard.model.accounts import AccountConfig
from switchboard.model.mail import MailboxInfo
from switchboard.server.jmap.locate import MailboxIds
from switchboard.server.jmap.otherclients import OtherClients
from switchboard.server.jmap.registry import CallContext, MethodRegistry
from switchboard.server.jmap.setplan import Step, Where, plan
from switchboard.server.jmap.states import LogStates
from switchboard.server.mailops import AccountConfigs

__all__ = ["MailSync"]

logger = logging.getLogger("switchboard.server")


class Lister(Protocol):
    """The engine's reader, for the mailbox list."""

    async def list_mailboxes(self, account: AccountConfig) -> list[MailboxInfo]:
        """Every mailbox of the account, with its UIDVALIDITY."""
        ...


class Writer(Protocol):
    """The engine's writer (:class:`switchboard.engine.writer.MailWriter`)."""

    async def capabilities(self, account: AccountConfig) -> Capabilities:
        """MOVE, UIDPLUS and OBJECTID of the account's server."""
        ...

    async def existing(
        self, account: AccountConfig, mailbox: str, uidvalidity: int, uids: Collection[int]
    ) -> dict[int, tuple[str, ...]]:
        """The flags of those of ``uids`` that exist."""
        ...

    async def store_flags(
        self,
        account: AccountConfig,
        mailbox: str,
        uidvalidity: int,
        uids: Collection[int],
        *,
        add: Collection[str] = (),
        remove: Collection[str] = (),
    ) -> None:
        """Add and remove flags."""
        ...

    async def move(
        self,
        account: AccountConfig,
        mailbox: str,
        uidvalidity: int,
        uids: Collection[int],
        target: str,
    ) -> dict[int, int]:
        """Move messages; source → target UIDs when known."""
        ...

    async def destroy(
        self, account: AccountConfig, mailbox: str, uidvalidity: int, uids: Collection[int]
    ) -> None:
        """Delete messages for good."""
        ...


class _Outcome:
    """What one Email/set did so far: its answers and the journal entries."""

    def __init__(self) -> None:
        self.updated: dict[str, JsonValue] = {}
        self.not_updated: dict[str, JsonValue] = {}
        self.destroyed: list[str] = []
        self.not_destroyed: dict[str, JsonValue] = {}
        self.edits: list[Edit] = []

    @property
    def changed_anything(self) -> bool:
        return bool(self.edits)


class MailSync:
    """Email/set and the /changes methods of one server.

    Args:
        configs: the accounts' settings.
        lister: the engine's reader (mailbox lists).
        writer: the engine's writer.
        states: the journal and the states.
        max_objects_in_set: the announced ``maxObjectsInSet``.
        others: the CONDSTORE poll of other clients' changes, run before Email/changes and
            Mailbox/changes compute their page; ``None``: none.
    """

    def __init__(
        self,
        configs: AccountConfigs,
        lister: Lister,
        writer: Writer,
        states: LogStates,
        *,
        max_objects_in_set: int,
        others: OtherClients | None = None,
    ) -> None:
        self._others = others
        self._configs = configs
        self._lister = lister
        self._writer = writer
        self._states = states
        self._max_set = max_objects_in_set

    def register(self, registry: MethodRegistry) -> None:
        """Serve Email/set, the three /changes and the two /queryChanges methods."""
        registry.register("Email/set", MAIL, self.email_set)
        registry.register("Email/changes", MAIL, self.email_changes)
        registry.register("Mailbox/changes", MAIL, self.mailbox_changes)
        registry.register("Thread/changes", MAIL, self.thread_changes)
        registry.register("Email/queryChanges", MAIL, self.query_changes)
        registry.register("Mailbox/queryChanges", MAIL, self.query_changes)

    # ------------------------------------------------------------------ /changes

    async def _changes(
        self, call: MethodCall, context: CallContext, data_type: str
    ) -> JsonObject:
        args = parse_changes(call.arguments)
        account = context.account(args.account_id)
        if self._others is not None and data_type != "Thread":
            await self._others.poll(account)
        journal = self._states.journal(account)
        page = changes_since(
            self._states.codec,
            args.since_state,
            journal.changes(data_type, 0),
            oldest=journal.oldest,
            current=journal.state(data_type),
            max_changes=args.max_changes,
        )
        return page.to_json(args.account_id)

    async def email_changes(self, call: MethodCall, context: CallContext) -> MethodResult:
        """Email/changes (RFC 8620 §5.2)."""
        return MethodResult.single("Email/changes", await self._changes(call, context, "Email"))

    async def thread_changes(self, call: MethodCall, context: CallContext) -> MethodResult:
        """Thread/changes (RFC 8620 §5.2)."""
        return MethodResult.single("Thread/changes", await self._changes(call, context, "Thread"))

    async def mailbox_changes(self, call: MethodCall, context: CallContext) -> MethodResult:
        """Mailbox/changes (RFC 8621 §2.2): ``updatedProperties`` is null (refetch all)."""
        response = await self._changes(call, context, "Mailbox")
        response["updatedProperties"] = None
        return MethodResult.single("Mailbox/changes", response)

    async def query_changes(self, call: MethodCall, context: CallContext) -> MethodResult:
        """Email/ and Mailbox/queryChanges: query results are not kept, so never calculable
        (RFC 8620 §5.6); the client runs the query again."""
        context.account(parse_account_id(call.arguments))
        query = call.name.replace("queryChanges", "query")
        raise CannotCalculateChanges(f"query results are not tracked: run {query} again")

    # ------------------------------------------------------------------ Email/set

    async def email_set(self, call: MethodCall, context: CallContext) -> MethodResult:
        """Email/set (RFC 8621 §4.6): keywords, moves and destroys; no create."""
        jmap_account = parse_account_id(call.arguments)
        account = context.account(jmap_account)
        args = parse_email_set(call.arguments, max_objects=self._max_set)
        old_state = self._states.state(account, "Email")
        if args.if_in_state is not None and args.if_in_state != old_state:
            raise StateMismatch("ifInState is not the current Email state")
        config = self._configs.config(account)
        if config is None:
            raise AccountNotFound("the account is no longer connected")
        outcome = _Outcome()
        try:
            await self._apply(config, args.update, args.destroy, outcome)
        except EngineError as exc:
            logger.warning("Email/set of %s stopped: %s", account, exc)
            self._states.record(account, outcome.edits)
            if outcome.changed_anything:
                raise ServerPartialFail("the IMAP server failed part way; resync") from None
            raise ServerUnavailable("the IMAP server could not be asked") from None
        self._states.record(account, outcome.edits)
        forbidden = SetForbidden("creating an Email needs an upload; uploads are not served")
        response: JsonObject = {
            "accountId": jmap_account,
            "oldState": old_state,
            "newState": self._states.state(account, "Email"),
            "created": None,
            "updated": outcome.updated or None,
            "destroyed": list[JsonValue](outcome.destroyed) or None,
            "notCreated": {cid: forbidden.to_json() for cid in args.create} or None,
            "notUpdated": outcome.not_updated or None,
            "notDestroyed": outcome.not_destroyed or None,
        }
        return MethodResult.single("Email/set", response)

    async def _apply(
        self,
        config: AccountConfig,
        updates: dict[str, EmailUpdate | SetError],
        destroys: Sequence[str],
        outcome: _Outcome,
    ) -> None:
        """Plan every update, then run them as few commands as possible: one STORE per mailbox
        and flag change, one move per mailbox and target, one deletion per mailbox."""
        mailboxes = MailboxIds(lambda: self._lister.list_mailboxes(config))
        wanted = [i for i, u in updates.items() if not isinstance(u, SetError)] + list(destroys)
        where = await self._locate(config, wanted, mailboxes)
        capabilities: Capabilities | None = None
        steps: list[Step] = []
        doomed = set(destroys)
        for email, update in updates.items():
            if isinstance(update, SetError):
                outcome.not_updated[email] = update.to_json()
            elif email in doomed:  # RFC 8620 §5.3: the destroy wins
                outcome.not_updated[email] = SetWillDestroy().to_json()
            elif email not in where:
                outcome.not_updated[email] = SetNotFound().to_json()
            else:
                try:
                    step = await plan(email, where[email], update, mailboxes)
                    if step.target is not None:
                        capabilities = capabilities or await self._writer.capabilities(config)
                        if not (capabilities.move or capabilities.uidplus):
                            raise SetForbidden("the IMAP server offers neither MOVE nor UIDPLUS")
                except SetError as error:
                    outcome.not_updated[email] = error.to_json()
                else:
                    steps.append(step)
        failed: dict[str, SetError] = {}
        await self._store(config, steps, failed, outcome)
        await self._move(config, [s for s in steps if s.email not in failed], failed, outcome)
        for step in steps:
            if step.email in failed:
                outcome.not_updated[step.email] = failed[step.email].to_json()
            else:
                outcome.updated[step.email] = None
        await self._destroy(config, destroys, where, outcome)

    async def _store(
        self, config: AccountConfig, steps: Sequence[Step], failed: dict[str, SetError],
        outcome: _Outcome,
    ) -> None:
        groups: dict[tuple[str, int, tuple[str, ...], tuple[str, ...]], list[Step]] = {}
        for step in steps:
            if step.add or step.remove:
                key = (step.where.mailbox, step.where.uidvalidity, step.add, step.remove)
                groups.setdefault(key, []).append(step)
        for (mailbox, uidvalidity, add, remove), group in groups.items():
            try:
                await self._writer.store_flags(
                    config, mailbox, uidvalidity, [s.where.uid for s in group],
                    add=add, remove=remove,
                )  # fmt: skip
            except (MailboxNotFound, StaleMailbox):
                failed.update((s.email, SetNotFound()) for s in group)
                continue
            except ImapFailure as exc:  # e.g. a read-only (shared) mailbox
                failed.update((s.email, _refused(exc)) for s in group)
                continue
            outcome.edits += [Edit("Email", s.email, ChangeKind.UPDATED) for s in group]
            outcome.edits.append(
                Edit("Mailbox", mailbox_id(mailbox, uidvalidity), ChangeKind.UPDATED)
            )

    async def _move(
        self, config: AccountConfig, steps: Sequence[Step], failed: dict[str, SetError],
        outcome: _Outcome,
    ) -> None:
        groups: dict[tuple[str, int, str, int], list[Step]] = {}
        for step in steps:
            if step.target is not None:
                key = (step.where.mailbox, step.where.uidvalidity, *step.target)
                groups.setdefault(key, []).append(step)
        for (mailbox, uidvalidity, target, target_uidvalidity), group in groups.items():
            try:
                moved = await self._writer.move(
                    config, mailbox, uidvalidity, [s.where.uid for s in group], target
                )
            except NotSupported as exc:
                failed.update((s.email, SetForbidden(str(exc))) for s in group)
                continue
            except (MailboxNotFound, StaleMailbox):
                failed.update((s.email, SetNotFound()) for s in group)
                continue
            except ImapFailure as exc:
                failed.update((s.email, _refused(exc)) for s in group)
                continue
            outcome.edits += [
                Edit("Mailbox", mailbox_id(mailbox, uidvalidity), ChangeKind.UPDATED),
                Edit("Mailbox", mailbox_id(target, target_uidvalidity), ChangeKind.UPDATED),
            ]
            for step in group:
                outcome.edits += [
                    Edit("Email", step.email, ChangeKind.DESTROYED),
                    Edit("Thread", thread_id(step.email), ChangeKind.DESTROYED),
                ]
                new_uid = moved.get(step.where.uid)
                if new_uid is not None:
                    new_id = email_id(target, target_uidvalidity, new_uid)
                    outcome.edits += [
                        Edit("Email", new_id, ChangeKind.CREATED),
                        Edit("Thread", thread_id(new_id), ChangeKind.CREATED),
                    ]

    async def _destroy(
        self, config: AccountConfig, destroys: Sequence[str], where: dict[str, Where],
        outcome: _Outcome,
    ) -> None:
        groups: dict[tuple[str, int], list[tuple[str, int]]] = {}
        seen: set[str] = set()
        for email in destroys:
            found = where.get(email)
            if found is None or email in seen:
                outcome.not_destroyed[email] = SetNotFound().to_json()
                continue
            seen.add(email)
            groups.setdefault((found.mailbox, found.uidvalidity), []).append((email, found.uid))
        for (mailbox, uidvalidity), group in groups.items():
            error: SetError | None = None
            try:
                await self._writer.destroy(config, mailbox, uidvalidity, [u for _, u in group])
            except NotSupported as exc:
                error = SetForbidden(str(exc))
            except (MailboxNotFound, StaleMailbox):
                error = SetNotFound()
            except ImapFailure as exc:
                error = _refused(exc)
            if error is not None:
                outcome.not_destroyed.update((email, error.to_json()) for email, _ in group)
                continue
            outcome.edits.append(
                Edit("Mailbox", mailbox_id(mailbox, uidvalidity), ChangeKind.UPDATED)
            )
            for email, _ in group:
                outcome.destroyed.append(email)
                outcome.edits += [
                    Edit("Email", email, ChangeKind.DESTROYED),
                    Edit("Thread", thread_id(email), ChangeKind.DESTROYED),
                ]

    async def _locate(
        self, config: AccountConfig, emails: Sequence[str], mailboxes: MailboxIds
    ) -> dict[str, Where]:
        """Where each email is now, with its flags; emails that are not there are left out."""
        by_mailbox: dict[tuple[str, int], dict[int, str]] = defaultdict(dict)
        for email in emails:
            ref = await mailboxes.email(email)
            if ref is not None:
                by_mailbox[(ref.mailbox, ref.uidvalidity)][ref.uid] = email
        found: dict[str, Where] = {}
        for (name, uidvalidity), uids in by_mailbox.items():
            try:
                flags = await self._writer.existing(config, name, uidvalidity, uids)
            except (MailboxNotFound, StaleMailbox):
                continue
            for uid, email in uids.items():
                if uid in flags:
                    found[email] = Where(name, uidvalidity, uid, flags[uid])
        return found


def _refused(exc: ImapFailure) -> SetError:
    """The IMAP server said NO to changing these messages (a read-only mailbox, a quota…)."""
    return SetForbidden(f"the IMAP server refused: {exc}"[:300])
