"""``omnipower emulator --help`` shows the defaults a user would otherwise have to guess."""

from __future__ import annotations

import pytest

from ccc_gateway.cli import main


def test_help_names_the_optical_port_password_and_defaults(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["emulator", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert exit_info.value.code == 0
    for option, default in [
        ("--ccc", "pty"),
        ("--optical", "pty"),
        ("--password", "12345"),
        ("--scenario", "household"),
        ("--seed", "0"),
    ]:
        assert option in text
        assert f"(default: {default})" in text
