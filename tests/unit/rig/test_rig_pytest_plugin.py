"""The rig's pytest plugin, loaded through its entry point in an inner pytest run (pytester)."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

MINI = Path(__file__).parent / "testdata" / "mini.yaml"


def test_options_are_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--rig-topology=FILE*", "*--rig-provider*", "*--rig-seed*",
                                 "*--rig-report*"])


def test_lab_fixture_skips_without_a_topology(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_needs_lab(lab):\n    raise AssertionError('must not run')\n")
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*no lab to test against: give --rig-topology FILE*"])


def test_physical_marker_skips_with_the_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("import pytest\n\n@pytest.mark.physical('a-u1-s1')\ndef test_bench():\n    pass\n")
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*needs a physical meter: no --rig-topology given*"])
    result = pytester.runpytest("-rs", f"--rig-topology={MINI}")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*the topology binds meter 'a-u1-s1' to an emulator*"])


def test_root_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("import pytest\n\n@pytest.mark.root\ndef test_as_root():\n    pass\n")
    result = pytester.runpytest("-rs")
    if os.geteuid() == 0:
        result.assert_outcomes(passed=1)
    else:
        result.assert_outcomes(skipped=1)
        result.stdout.fnmatch_lines(["*needs root*"])


def test_junit_properties(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_one():\n    pass\n")
    xml = pytester.path / "junit.xml"
    result = pytester.runpytest(f"--junitxml={xml}", f"--rig-topology={MINI}", "--rig-seed=7")
    result.assert_outcomes(passed=1)
    props = {p.get("name"): p.get("value") for p in ET.parse(xml).getroot().iter("property")}
    assert props["rig.topology"] == str(MINI.resolve())
    assert props["rig.seed"] == "7"
    assert props["rig.provider"] == "local"
    assert props["rig.meter.a-u1-s1"] == "emulated"
    assert props["rig.meter.a-u2-s1"] == "emulated"
    assert len(props["rig.commit"]) in (7, 40) or props["rig.commit"] == "unknown"


def test_plugin_is_quiet_without_options(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_one():\n    pass\n")
    xml = pytester.path / "junit.xml"
    pytester.runpytest(f"--junitxml={xml}").assert_outcomes(passed=1)
    assert not [p for p in ET.parse(xml).getroot().iter("property") if p.get("name", "").startswith("rig.")]
