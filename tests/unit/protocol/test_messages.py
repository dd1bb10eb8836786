from switchboard.protocol.messages import Command, Response


def test_a_tag_implies_tagged_and_null_tag_needs_saying_so() -> None:
    assert Command("m", {}, 5) == Command("m", {}, 5, tagged=True)
    assert Command("m", {}).to_json() == ["m", {}]
    assert Command("m", {}, None, tagged=True).to_json() == ["m", {}, None]
    assert Response("r", {}, "t").tagged


def test_reply_echoes_the_tag_and_its_absence() -> None:
    assert Response.reply(Command("m", {}, None, True), "ok", {}).to_json() == ["ok", {}, None]
    assert Response.reply(Command("m", {}), "ok", {}).to_json() == ["ok", {}]
    tag = {"o": [1, None]}
    assert Response.reply(Command("m", {}, tag), "ok", {"a": 1}).to_json() == ["ok", {"a": 1}, tag]
