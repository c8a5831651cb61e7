"""Reading ansible-playbook's plain output: recap counts and the first failure's host and task."""
# ruff: noqa: E501  (verbatim ansible-playbook output lines)

from __future__ import annotations

from pathlib import Path

from carbonlab.lab.ansible_run import _show_tasks, parse_output

OK_RUN = """\
PLAY [Prepare every host] ******************************************************

TASK [common : Create the carbonlab directories] *******************************
ok: [node1] => (item=/x)
changed: [node2] => (item=/y)

PLAY RECAP *********************************************************************
node1                      : ok=18   changed=0    unreachable=0    failed=0    skipped=7    rescued=0    ignored=0
node2                      : ok=18   changed=3    unreachable=0    failed=0    skipped=7    rescued=0    ignored=0
localhost                  : ok=1    changed=0    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0
"""

FAILED_RUN = """\
TASK [common : Look for systemd] ***********************************************
ok: [gw-a]

TASK [common : Wait for the service to listen] *********************************
fatal: [gw-a]: FAILED! => {"changed": false, "elapsed": 60, "msg": "gateway-gw-a did not listen on 127.0.0.1:21320 within 60 s; its log: /lab/hosts/gw-a/log/gateway-gw-a.log"}

PLAY RECAP *********************************************************************
gw-a                       : ok=3    changed=0    unreachable=0    failed=1    skipped=0    rescued=0    ignored=0
"""

# a loop's failed item has no `fatal:` line (Ansible 2.19's default callback): the lab said
# only "ansible-playbook exited 2" for it
LOOP_FAILED_RUN = """\
PLAY [Wait for every service (re)started by this run to listen] ****************

TASK [Wait for the service to listen] ******************************************
ok: [node1] => (item=node-n1)
failed: [node4] (item=node-n4) => {"ansible_loop_var": "item", "changed": false, "elapsed": 60, "item": {"address": "127.0.0.1", "log": "/lab/hosts/node4/log/node-n4.log", "name": "node-n4", "port": 33031}, "msg": "node-n4 did not listen on 127.0.0.1:33031 within 60 s; its log: /lab/hosts/node4/log/node-n4.log"}
ok: [node4] => (item=client-n4)

PLAY RECAP *********************************************************************
node1                      : ok=1    changed=0    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0
node4                      : ok=0    changed=0    unreachable=0    failed=1    skipped=0    rescued=0    ignored=0
"""

UNREACHABLE_RUN = """\
TASK [common : Create the carbonlab group] *************************************
fatal: [node3]: UNREACHABLE! => {"changed": false, "msg": "Failed to connect to the host via ssh", "unreachable": true}
"""


def test_recap_counts_per_host() -> None:
    result = parse_output(OK_RUN)
    assert result.recap["node2"].changed == 3
    assert result.recap["node1"].ok == 18
    assert result.changed == 3
    assert result.failures == []


def test_a_failure_names_host_task_and_message() -> None:
    result = parse_output(FAILED_RUN)
    assert result.failures == [("gw-a", "common : Wait for the service to listen",
                                "gateway-gw-a did not listen on 127.0.0.1:21320 within 60 s; "
                                "its log: /lab/hosts/gw-a/log/gateway-gw-a.log")]
    assert result.recap["gw-a"].failed == 1


def test_a_failed_loop_item_names_host_task_and_message() -> None:
    result = parse_output(LOOP_FAILED_RUN)
    assert result.failures == [("node4", "Wait for the service to listen",
                                "node-n4 did not listen on 127.0.0.1:33031 within 60 s; "
                                "its log: /lab/hosts/node4/log/node-n4.log")]
    assert result.recap["node4"].failed == 1


def test_an_unreachable_host_is_a_failure() -> None:
    result = parse_output(UNREACHABLE_RUN)
    assert result.failures == [("node3", "common : Create the carbonlab group",
                                "Failed to connect to the host via ssh")]


DEBUG_RUN = """\
TASK [grafana : Say plainly that Grafana is skipped] ***************************
ok: [obs] => {
    "msg": "Grafana is SKIPPED on obs: it is not installed (no root to install packages)."
}

TASK [Wait for the service to listen] ******************************************
ok: [node1] => (item=node-n1)
"""


def test_progress_shows_tasks_once_and_what_debug_tasks_say(tmp_path: Path) -> None:
    log = tmp_path / "site.log"
    log.write_text(DEBUG_RUN + DEBUG_RUN)
    lines: list[str] = []
    seen = _show_tasks(log, 0, set(), lines.append)
    assert seen == len((DEBUG_RUN + DEBUG_RUN).splitlines())
    assert lines[0] == "  grafana : Say plainly that Grafana is skipped"
    assert lines[1] == "    obs: Grafana is SKIPPED on obs: it is not installed (no root to install packages)."
    assert lines[2] == "  Wait for the service to listen"
    assert lines.count(lines[0]) == 1          # a repeated header is shown once
