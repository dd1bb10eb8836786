"""Provider quirks as data: IDLE refresh intervals and connection limits per mail provider.

A profile is picked by the account's explicit ``provider`` name, else by the longest matching
host suffix, else the generic profile. Add a provider by adding a row to :data:`PROFILES`;
code never branches on a provider's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["GENERIC", "PROFILES", "ProviderProfile", "lookup_profile"]


@dataclass(frozen=True, slots=True)
class ProviderProfile:
    """What the engine must respect for one provider.

    Attributes:
        name: the key used in ``AccountConfig.provider``.
        host_suffixes: IMAP host names (or their suffixes, after a dot) served by the provider.
        idle_refresh_s: re-issue IDLE at least this often; the engine uses the smaller of this
            and ``EngineSettings.idle_refresh_s``.
        max_connections: simultaneous IMAP connections the provider allows per account
            (watchers plus the command connection); ``None`` = no known limit.
    """

    name: str
    host_suffixes: tuple[str, ...] = ()
    idle_refresh_s: float = 600.0
    max_connections: int | None = None

    def matches_host(self, host: str) -> int:
        """Return the length of the suffix matching ``host`` (0 = no match)."""
        host = host.lower().rstrip(".")
        best = 0
        for suffix in self.host_suffixes:
            if host == suffix or host.endswith("." + suffix):
                best = max(best, len(suffix))
        return best


GENERIC = ProviderProfile(name="generic")
"""RFC 2177 allows 29 minutes of IDLE; 10 minutes also survives most NAT timeouts."""

PROFILES: Mapping[str, ProviderProfile] = MappingProxyType(
    {
        p.name: p
        for p in (
            GENERIC,
            # Yahoo (and AOL, same backend) drop IDLE sessions silently after a few minutes.
            ProviderProfile("yahoo", ("imap.mail.yahoo.com", "yahoo.com"), idle_refresh_s=180.0),
            ProviderProfile("aol", ("imap.aol.com", "aol.com"), idle_refresh_s=180.0),
            # Gmail allows 15 simultaneous IMAP connections per account.
            ProviderProfile(
                "gmail",
                ("imap.gmail.com", "googlemail.com"),
                idle_refresh_s=600.0,
                max_connections=15,
            ),
            # Exchange Online / Outlook.com limit concurrent IMAP connections per mailbox (20);
            # we keep a margin for the user's own clients.
            ProviderProfile(
                "outlook",
                ("outlook.office365.com", "imap-mail.outlook.com", "office365.com"),
                idle_refresh_s=600.0,
                max_connections=16,
            ),
            ProviderProfile("icloud", ("imap.mail.me.com", "mail.me.com"), idle_refresh_s=600.0),
        )
    }
)
"""Every known profile by name."""


def lookup_profile(
    provider: str | None,
    host: str,
    profiles: Mapping[str, ProviderProfile] = PROFILES,
) -> ProviderProfile:
    """Return the profile for an account.

    Args:
        provider: ``AccountConfig.provider``; an unknown name falls back to the host match.
        host: the IMAP host name.
        profiles: the table to search (injected for tests).
    """
    if provider is not None:
        named = profiles.get(provider.lower())
        if named is not None:
            return named
    best, best_len = GENERIC, 0
    for profile in profiles.values():
        length = profile.matches_host(host)
        if length > best_len:
            best, best_len = profile, length
    return best
