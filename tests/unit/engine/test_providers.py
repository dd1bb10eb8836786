from switchboard.engine.providers import GENERIC, PROFILES, ProviderProfile, lookup_profile


def test_yahoo_by_host_refreshes_idle_every_three_minutes():
    profile = lookup_profile(None, "imap.mail.yahoo.com")
    assert profile.name == "yahoo"
    assert profile.idle_refresh_s == 180.0


def test_host_match_is_case_insensitive_and_ignores_trailing_dot():
    assert lookup_profile(None, "IMAP.GMAIL.COM.").name == "gmail"


def test_gmail_and_outlook_limit_connections():
    assert lookup_profile(None, "imap.gmail.com").max_connections == 15
    assert lookup_profile(None, "outlook.office365.com").max_connections is not None


def test_explicit_provider_wins_over_host():
    assert lookup_profile("yahoo", "mail.example.org").name == "yahoo"
    assert lookup_profile("YAHOO", "imap.gmail.com").name == "yahoo"


def test_unknown_name_falls_back_to_host_then_generic():
    assert lookup_profile("nonesuch", "imap.gmail.com").name == "gmail"
    assert lookup_profile(None, "mail.example.org") is GENERIC
    assert GENERIC.idle_refresh_s == 600.0


def test_suffix_must_match_on_a_label_boundary():
    assert lookup_profile(None, "notyahoo.com") is GENERIC


def test_longest_suffix_wins():
    table = {
        "a": ProviderProfile("a", ("example.com",), idle_refresh_s=100),
        "b": ProviderProfile("b", ("imap.example.com",), idle_refresh_s=200),
    }
    assert lookup_profile(None, "imap.example.com", table).name == "b"
    assert lookup_profile(None, "smtp.example.com", table).name == "a"


def test_every_profile_is_keyed_by_its_name():
    assert all(key == p.name for key, p in PROFILES.items())
