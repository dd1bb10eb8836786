"""RFC 8621 Email rendering from fetched structures and sections: pure, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from switchboard.mail.jmapemail import (
    DEFAULT_PROPERTIES,
    BodyValueOptions,
    EmailPlan,
    HeaderProperty,
    PropertyNames,
    body_parts,
    format_date,
    format_utc_date,
    header_fields,
    parse_header_property,
    render_header,
)
from switchboard.model.mail import BodyPart, BodySection, FetchedMessage

PLAIN = BodyPart("text", "plain", {"charset": b"utf-8"}, encoding="7BIT", size=20, lines=1)
HTML = BodyPart("text", "html", {"charset": b"utf-8"}, encoding="7BIT", size=40, lines=1)
PDF = BodyPart("application", "pdf", {"name": b"a.pdf"}, encoding="BASE64", size=80,
               disposition=("attachment", {"filename": b"a.pdf"}))  # fmt: skip
IMAGE = BodyPart("image", "png", {}, content_id=b"<logo@x>", encoding="BASE64", size=10)


def multipart(subtype: str, *parts: BodyPart) -> BodyPart:
    return BodyPart("multipart", subtype, parts=parts)


def ids(nodes: object) -> list[str | None]:
    return [node.part_id for node in nodes]  # type: ignore[attr-defined]


# -- textBody, htmlBody, attachments (RFC 8621 §4.1.4) --------------------------------------


def test_alternative_inside_mixed_with_an_attachment() -> None:
    parts = body_parts(multipart("mixed", multipart("alternative", PLAIN, HTML), PDF))
    assert ids(parts.text) == ["1.1"]
    assert ids(parts.html) == ["1.2"]
    assert ids(parts.attachments) == ["2"]


def test_a_single_part_is_both_bodies() -> None:
    parts = body_parts(HTML)
    assert ids(parts.text) == ["1"] and ids(parts.html) == ["1"]
    assert parts.attachments == ()


def test_an_alternative_without_html_gives_the_text_to_html_too() -> None:
    parts = body_parts(multipart("alternative", PLAIN))
    assert ids(parts.text) == ["1"] and ids(parts.html) == ["1"]


def test_inline_images_in_mixed_are_body_and_attachment() -> None:
    parts = body_parts(multipart("mixed", PLAIN, IMAGE, PLAIN))
    assert ids(parts.text) == ["1", "2", "3"]
    assert ids(parts.html) == ["1", "2", "3"]
    assert ids(parts.attachments) == []
    related = body_parts(multipart("related", HTML, IMAGE))
    assert ids(related.html) == ["1"] and ids(related.attachments) == ["2"]


# -- headers ------------------------------------------------------------------------------


BLOCK = (
    b"From: =?utf-8?q?Andr=C3=A9?= <andre@example.com>, bob@example.com\r\n"
    b"Subject: hello\r\n  world\r\n"
    b"Message-ID: <a@b>\r\n"
    b"References: <x@y>\r\n <z@w>\r\n"
    b"Date: Wed, 04 Jun 2014 10:00:00 +0200\r\n"
    b"List-Post: <mailto:list@example.com>\r\n"
    b"X-Tag: one\r\nX-Tag: two\r\n"
    b"\r\n"
)


def test_header_properties_parse() -> None:
    assert parse_header_property("header:Subject") == HeaderProperty("subject")
    assert parse_header_property("header:From:asAddresses:all") == HeaderProperty(
        "from", "Addresses", True
    )
    assert parse_header_property("header:X-Tag:all") == HeaderProperty("x-tag", "Raw", True)
    for bad in ("header:", "header:From:asFoo", "subject", "header:a b", "header:X:asText:x"):
        assert parse_header_property(bad) is None
    names = PropertyNames(DEFAULT_PROPERTIES)
    assert "subject" in names and "header:X-Any:asText" in names and "nope" not in names


def test_header_forms() -> None:
    fields = header_fields(BLOCK)
    assert render_header(fields, HeaderProperty("subject")) == " hello\r\n  world"
    assert render_header(fields, HeaderProperty("subject", "Text")) == "hello world"
    assert render_header(fields, HeaderProperty("from", "Addresses")) == [
        {"name": "André", "email": "andre@example.com"},
        {"name": None, "email": "bob@example.com"},
    ]
    assert render_header(fields, HeaderProperty("from", "GroupedAddresses"))[0]["name"] is None
    assert render_header(fields, HeaderProperty("references", "MessageIds")) == ["x@y", "z@w"]
    assert render_header(fields, HeaderProperty("date", "Date")) == "2014-06-04T10:00:00+02:00"
    assert render_header(fields, HeaderProperty("list-post", "URLs")) == [
        "mailto:list@example.com"
    ]
    assert render_header(fields, HeaderProperty("x-tag", "Raw", True)) == [" one", " two"]
    assert render_header(fields, HeaderProperty("x-tag")) == " two"
    assert render_header(fields, HeaderProperty("cc", "Addresses")) is None
    assert render_header(fields, HeaderProperty("cc", "Addresses", True)) == []


def test_dates_format() -> None:
    moment = datetime(2014, 6, 4, 10, 0, 0, 123, tzinfo=timezone(timedelta(hours=2)))
    assert format_date(moment) == "2014-06-04T10:00:00+02:00"
    assert format_date(moment.astimezone(UTC)) == "2014-06-04T08:00:00Z"
    assert format_utc_date(moment) == "2014-06-04T08:00:00Z"


# -- the plan and rendering -----------------------------------------------------------------


def test_the_fetch_plan_asks_only_for_what_the_properties_need() -> None:
    plan = EmailPlan(["id", "keywords", "receivedAt"]).fetch
    assert (plan.flags, plan.internal_date, plan.size, plan.body_structure) == (
        True, True, False, False)  # fmt: skip
    assert plan.sections == () and plan.second_stage is None
    plan = EmailPlan(["subject", "size"]).fetch
    assert plan.sections == (BodySection("HEADER"),) and plan.size
    assert EmailPlan(["preview"]).fetch.body_structure


def message(structure: BodyPart, sections: dict[BodySection, bytes]) -> FetchedMessage:
    return FetchedMessage(
        uid=7, flags=("\\Seen",), size=1234, internal_date="04-Jun-2014 10:00:00 +0200",
        headers=None, body_structure=structure,
        sections={BodySection("HEADER"): BLOCK, **sections},
    )  # fmt: skip


def test_body_values_are_decoded_cut_at_a_character_and_crlf_made_lf() -> None:
    plain = BodyPart("text", "plain", {"charset": b"utf-8"}, encoding="QUOTED-PRINTABLE",
                     size=200)  # fmt: skip
    structure = multipart("alternative", plain, HTML)
    plan = EmailPlan(["bodyValues", "preview", "receivedAt", "subject"],
                     values=BodyValueOptions(text=True, max_bytes=4))  # fmt: skip
    first = message(structure, {})
    assert plan.fetch.second_stage is not None
    # One prefix of the text part serves the value and the preview (3 * 4 + 64 < 4096).
    assert plan.fetch.second_stage(first) == (BodySection("1", (0, 4096)),)
    data = b"caf=C3=A9 au lait\r\nsecond line\r\n"
    rendered = plan.render(message(structure, {BodySection("1", (0, 4096)): data}),
                           lambda section: f"p{section}")  # fmt: skip
    assert rendered["bodyValues"] == {
        "1": {"value": "caf", "isEncodingProblem": False, "isTruncated": True}
    }  # "é" is two octets: the fourth octet would cut it
    assert rendered["preview"] == "café au lait second line"
    assert rendered["receivedAt"] == "2014-06-04T08:00:00Z"
    assert rendered["subject"] == "hello world"
    unlimited = EmailPlan(["bodyValues"], values=BodyValueOptions(all=True))
    rendered = unlimited.render(
        message(structure, {BodySection("1"): data, BodySection("2"): b"<p>x</p>"}),
        lambda section: None,
    )
    assert rendered["bodyValues"]["1"]["value"] == "café au lait\nsecond line\n"
    assert rendered["bodyValues"]["2"]["value"] == "<p>x</p>"


def test_an_undecodable_value_is_an_encoding_problem() -> None:
    plan = EmailPlan(["bodyValues"], values=BodyValueOptions(text=True))
    rendered = plan.render(message(PLAIN, {BodySection("1"): b"bad \xff byte"}), lambda s: None)
    assert rendered["bodyValues"]["1"]["isEncodingProblem"] is True


def test_body_structure_and_attachments() -> None:
    structure = multipart("mixed", multipart("alternative", PLAIN, HTML), PDF)
    plan = EmailPlan(["bodyStructure", "attachments", "hasAttachment", "textBody"],
                     body_properties=["partId", "blobId", "type", "name", "disposition",
                                      "charset", "size"])  # fmt: skip
    rendered = plan.render(message(structure, {}), lambda section: f"p{section}")
    tree = rendered["bodyStructure"]
    assert tree["partId"] is None and tree["blobId"] is None and tree["charset"] is None
    assert [p["type"] for p in tree["subParts"][0]["subParts"]] == ["text/plain", "text/html"]
    assert rendered["attachments"] == [{
        "partId": "2", "blobId": "p2", "type": "application/pdf", "name": "a.pdf",
        "disposition": "attachment", "charset": None, "size": 57,
    }]  # fmt: skip
    assert rendered["textBody"][0]["charset"] == "utf-8"
    assert rendered["hasAttachment"] is True
    no_file = EmailPlan(["hasAttachment"]).render(
        message(multipart("related", HTML, IMAGE), {}), lambda s: None
    )
    assert no_file["hasAttachment"] is False  # an embedded cid: image is not a file


def test_part_headers_come_from_mime_sections() -> None:
    structure = multipart("mixed", PLAIN, PDF)
    plan = EmailPlan(["bodyStructure"], body_properties=["partId", "headers",
                                                          "header:Content-Type:asText"])
    assert plan.fetch.second_stage is not None
    sections = plan.fetch.second_stage(message(structure, {}))
    assert sections == (BodySection("1.MIME"), BodySection("2.MIME"))
    mime_1 = b"Content-Type: text/plain;\r\n charset=utf-8\r\n\r\n"
    rendered = plan.render(message(structure, {BodySection("1.MIME"): mime_1}), lambda s: None)
    first = rendered["bodyStructure"]["subParts"][0]
    assert first["headers"] == [{"name": "Content-Type", "value": " text/plain;\r\n charset=utf-8"}]
    assert first["header:Content-Type:asText"] == "text/plain; charset=utf-8"
