"""`make demo` and `make test` install the system packages they need, say so loudly, and can be
told not to (SEMDAG_NO_SYSTEM_PACKAGES=1); the README says which packages and how."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

FAKE_APT = """#!/bin/sh
echo "$@" >> "{log}"
case "$*" in
  *install*)
    printf '#!/bin/sh\\necho "Chromium 1.2.3"\\n' > "{bin}/{program}"
    /bin/chmod +x "{bin}/{program}";;
esac
"""


def run_script(tmp_path: Path, script: str, program: str, **env: str):
    """Run ``scripts/<script>`` as root with a fake apt-get and nothing else on PATH."""
    fake = tmp_path / "bin"
    fake.mkdir()
    log = tmp_path / "apt.log"
    (fake / "apt-get").write_text(FAKE_APT.format(log=log, bin=fake, program=program))
    (fake / "id").write_text("#!/bin/sh\necho 0\n")
    for tool in (fake / "apt-get", fake / "id"):
        tool.chmod(0o755)
    done = subprocess.run(
        ["/bin/sh", str(ROOT / "scripts" / script)],
        env={"PATH": str(fake), "HOME": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return done, calls


def test_make_test_installs_chromium_and_says_so_loudly(tmp_path):
    done, calls = run_script(tmp_path, "install-chromium.sh", "chromium")
    assert done.returncode == 0, done.stderr
    assert calls == ["update -qq", "install -y -qq chromium"]
    assert "==> INSTALLING A SYSTEM PACKAGE: Debian's chromium" in done.stderr
    assert "SEMDAG_NO_SYSTEM_PACKAGES=1" in done.stderr
    assert "==> installed Chromium 1.2.3" in done.stderr


@pytest.mark.parametrize(
    ("script", "program"), [("install-chromium.sh", "chromium"), ("install-graphviz.sh", "dot")]
)
def test_system_packages_can_be_skipped(tmp_path, script, program):
    done, calls = run_script(tmp_path, script, program, SEMDAG_NO_SYSTEM_PACKAGES="1")
    assert done.returncode == 0
    assert calls == []
    assert "SEMDAG_NO_SYSTEM_PACKAGES is set, so it is not installed" in done.stderr


def test_graphviz_install_is_loud_too(tmp_path):
    done, calls = run_script(tmp_path, "install-graphviz.sh", "dot")
    assert calls == ["update -qq", "install -y -qq graphviz"]
    assert "==> INSTALLING A SYSTEM PACKAGE: Graphviz" in done.stderr


def test_make_test_runs_the_chromium_install_and_the_readme_says_so():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^test: .*\bbrowser\b", makefile, re.M)
    assert "sh scripts/install-chromium.sh" in makefile
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    for phrase in ("`graphviz`", "`chromium`", "SEMDAG_NO_SYSTEM_PACKAGES=1"):
        assert phrase in readme
