"""`make test` fetches its npm tools with Debian's npm and jq, installed loudly when missing,
or only named when SEMDAG_NO_SYSTEM_PACKAGES=1."""

from __future__ import annotations

from tests.e2e.test_system_packages import run_script


def test_npm_and_jq_are_installed_loudly_when_missing(tmp_path):
    done, calls = run_script(
        tmp_path, "install-npm-tools.sh", "npm", SEMDAG_NPM_TOOLS=str(tmp_path / "npm")
    )
    assert calls == ["update -qq", "install -y -qq npm jq"]
    assert "==> INSTALLING SYSTEM PACKAGES: Debian's npm jq" in done.stderr
    assert "SEMDAG_NO_SYSTEM_PACKAGES=1" in done.stderr


def test_npm_tools_skip_system_packages_and_say_what_is_missing(tmp_path):
    done, calls = run_script(
        tmp_path,
        "install-npm-tools.sh",
        "npm",
        SEMDAG_NO_SYSTEM_PACKAGES="1",
        SEMDAG_NPM_TOOLS=str(tmp_path / "npm"),
    )
    assert calls == []
    assert done.returncode == 1
    assert "==> npm is missing" in done.stderr
