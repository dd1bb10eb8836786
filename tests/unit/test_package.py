import switchboard
from switchboard.errors import SwitchboardError


def test_version_and_base_error() -> None:
    assert switchboard.__version__
    err = SwitchboardError("boom", type="serverError")
    assert err.type == "serverError"
    assert str(err) == "boom"
