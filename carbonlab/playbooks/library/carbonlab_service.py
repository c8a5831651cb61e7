#!/usr/bin/python
"""Ansible module: lay out a carbonlab service's directories and files and keep it running.

One module run per service instead of one per directory, file, stop, start and unit: on a
lab of 14 hosts on two cores each remote module run costs a Python start on the host and a
fork on the controller, and those runs were most of a playbook's time.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: carbonlab_service
short_description: Directories, configuration files and the process of one carbonlab service
description:
  - Creates the directories (owner, mode) and writes the files (content, mode) it is given,
    each only when it differs (files atomically).
  - With C(argv), keeps the service running under carbonlab's supervisor (C(supervisor) then
    C(argv), started by start-stop-daemon: restarted on failure like systemd's
    Restart=on-failure; pidfiles NAME.pid and NAME.supervisor.pid in C(run_dir), output to
    NAME.log in C(log_dir)) or systemd (unit carbonlab-NAME.service from C(unit)); restarts it
    when a file changed or C(restart) is true.
  - Without C(argv) it only lays out directories and files; with C(system_user) it first
    creates C(user) as a system user (group of the same name, no login), and it returns the
    content of the C(read) files that exist (the common role asks, in the same run, whether
    this build is installed and which keys exist).
  - Does not wait for the service to listen; the lab's last play does that for every host
    at once.
options:
  name: {description: Service name (pidfile, log, unit carbonlab-NAME)., type: str, default: ""}
  argv: {description: Command line; argv[0] an absolute path., type: list, elements: str, default: []}
  dirs:
    description: Directories as dicts with path, mode and optional owner (default C(user)).
    type: list
    elements: dict
    default: []
  files:
    description: Files as dicts with dest, content, mode and optional owner (default root-owned, like
      /etc; a secret the service reads, mode 0600, names C(user)).
    type: list
    elements: dict
    default: []
  read: {description: Files whose content to return when they exist., type: list, elements: path, default: []}
  system_user: {description: Create C(user) as a system user when missing., type: bool, default: false}
  user_home: {description: Home directory of a user it creates (not made)., type: path, default: /nonexistent}
  python: {description: Interpreter whose major.minor to report (empty - none)., type: str, default: ""}
  python_unless: {description: No version when this file exists (install marker)., type: path, default: ""}
  digest:
    description: >-
      Digest of everything the service is laid out and run from; kept in C(run_dir)/NAME.layout.json
      with the SHA-256 of each file once the service is laid out and running.
    type: str
    default: ""
  stamps_dir:
    description: >-
      Report (C(stamps)) the digest of each service whose NAME.layout.json is in this directory, whose
      files still have the recorded content and whose supervisor (or unit) runs.
    type: path
    default: ""
  restart: {description: Restart even if no file changed., type: bool, default: false}
  manager:
    description: Service manager.
    type: str
    choices: [supervisor, systemd]
    default: supervisor
  supervisor:
    description: The command that runs carbonlab's supervisor on the host (C(carbonlab supervise)).
    type: list
    elements: str
    default: []
  restart_s: {description: Seconds before a failed service restarts (RestartSec)., type: float, default: 2}
  start_limit_burst: {description: Starts allowed per interval (StartLimitBurst)., type: int, default: 5}
  start_limit_interval_s: {description: The start limit's interval (StartLimitIntervalSec)., type: float,
                           default: 60}
  unit: {description: Unit file content (systemd)., type: str, default: ""}
  user: {description: Run as this user (empty - the connection's user)., type: str, default: ""}
  run_dir: {description: Where the pidfile goes., type: path, default: /run/carbonlab}
  log_dir: {description: Where the output goes., type: path, default: /var/log/carbonlab}
  chdir: {description: Working directory., type: path, default: /}
  process_name:
    description: Unused (the supervisor is matched by its own name); accepted for roles that set it.
    type: str
    default: carbonlab
  stop_grace_s: {description: Seconds between SIGTERM and SIGKILL., type: int, default: 10}
"""

RETURN = r"""
started: {description: The service was started or restarted., type: bool, returned: always}
files_changed: {description: Paths of the directories and files that changed., type: list, returned: always}
contents: {description: Path -> text of each C(read) file that exists., type: dict, returned: always}
python_version: {description: major.minor of C(python), or empty., type: str, returned: always}
stamps: {description: Service name -> digest of services as their stamp says., type: dict, returned: always}
"""

import hashlib
import json
import os
import pwd
import tempfile
from typing import Any

from ansible.module_utils.basic import AnsibleModule

SUPERVISOR_NAME = "cl-supervise"   # the supervisor's comm (carbonlab.lab.supervisor.PROCESS_NAME)


def _ids(user: str) -> tuple[int, int]:
    if not user:
        return -1, -1
    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def _user_exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def ensure_dir(path: str, mode: int, owner: str) -> bool:
    changed = False
    if not os.path.isdir(path):
        os.makedirs(path, mode)
        changed = True
    return _mode_owner(path, mode, owner) or changed


def _mode_owner(path: str, mode: int, owner: str) -> bool:
    """Give `path` `mode` and, when `owner` names a user, that user and group; True if changed."""
    info = os.stat(path)
    changed = False
    if info.st_mode & 0o7777 != mode:
        os.chmod(path, mode)
        changed = True
    uid, gid = _ids(owner)
    if uid >= 0 and (info.st_uid, info.st_gid) != (uid, gid):
        os.chown(path, uid, gid)
        changed = True
    return changed


def ensure_file(dest: str, content: str, mode: int, owner: str = "") -> bool:
    data = content.encode()
    try:
        with open(dest, "rb") as old:
            same = old.read() == data
    except FileNotFoundError:
        same = False
    if same:
        return _mode_owner(dest, mode, owner)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dest), prefix=".carbonlab-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, mode)
        uid, gid = _ids(owner)
        if uid >= 0:
            os.chown(tmp, uid, gid)
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True


def _sha256(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def write_stamp(p: dict[str, Any]) -> None:
    """What the service was laid out and run from, and the content of its files as written."""
    stamp = {"name": p["name"], "digest": p["digest"], "manager": p["manager"], "run_dir": p["run_dir"],
             "files": {f["dest"]: _sha256(f["dest"]) for f in p["files"]}}
    path = os.path.join(p["run_dir"], p["name"] + ".layout.json")
    ensure_file(path, json.dumps(stamp, sort_keys=True), 0o644)


def read_stamps(stamps_dir: str, run: Any) -> dict[str, str]:
    """Name -> digest of each stamped service whose files are intact and whose manager runs it."""
    found: dict[str, str] = {}
    try:
        names = sorted(n for n in os.listdir(stamps_dir) if n.endswith(".layout.json"))
    except FileNotFoundError:
        return found
    for entry in names:
        try:
            with open(os.path.join(stamps_dir, entry), encoding="utf-8") as fh:
                stamp = json.load(fh)
            intact = all(_sha256(path) == digest for path, digest in stamp["files"].items())
            name = stamp["name"]
            up = (_supervisor_runs(os.path.join(stamp["run_dir"], name + ".supervisor.pid"))
                  if stamp["manager"] == "supervisor"
                  else run(["systemctl", "is-active", "--quiet", f"carbonlab-{name}.service"])[0] == 0)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
        if intact and up:
            found[name] = stamp["digest"]
    return found


def _supervisor_runs(pidfile: str) -> bool:
    try:
        with open(pidfile, encoding="ascii") as fh:
            pid = int(fh.read().strip())
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as fh:
            stat = fh.read()
    except (OSError, ValueError):
        return False
    comm = stat[stat.index("(") + 1:stat.rindex(")")]
    return comm == SUPERVISOR_NAME and stat[stat.rindex(")") + 2] not in "ZX"


def _mode(value: Any) -> int:
    return int(str(value), 8)


class Service:
    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        self.p = module.params

    def run(self, argv: list[str]) -> tuple[int, str, str]:
        rc, out, err = self.module.run_command(argv)
        return rc, out, err

    def must(self, argv: list[str]) -> None:
        rc, out, err = self.run(argv)
        if rc != 0:
            self.module.fail_json(msg=f"{self.p['name']}: {' '.join(argv)} exited {rc}: "
                                      f"{(err or out).strip()[-400:]}")

    def supervised(self, restart: bool) -> bool:
        p = self.p
        sup_pidfile = os.path.join(p["run_dir"], p["name"] + ".supervisor.pid")
        log = os.path.join(p["log_dir"], p["name"] + ".log")
        match = ["--pidfile", sup_pidfile, "--name", SUPERVISOR_NAME]
        # Debian keeps it in /usr/sbin, which a user's PATH does not hold: get_bin_path also
        # looks in the sbin folders, and names the program if it is missing.
        ssd = self.module.get_bin_path("start-stop-daemon", required=True)
        if restart:
            # the supervisor stops its child (SIGTERM, SIGKILL after stop_grace_s), then exits
            self.must([ssd, "--stop", "--quiet", "--oknodo", "--retry",
                       f"TERM/{p['stop_grace_s'] + 5}/KILL/5", *match, "--remove-pidfile"])
        argv = [ssd, "--start", "--quiet", "--background", *match,
                "--chdir", p["chdir"], "--output", log]
        if p["user"]:
            argv += ["--chuid", p["user"]]
        argv += ["--startas", p["supervisor"][0], "--", *p["supervisor"][1:], "--name", p["name"],
                 "--run-dir", p["run_dir"], "--restart-s", str(p["restart_s"]),
                 "--start-limit-burst", str(p["start_limit_burst"]),
                 "--start-limit-interval-s", str(p["start_limit_interval_s"]),
                 "--stop-grace-s", str(p["stop_grace_s"]), "--", *p["argv"]]
        rc, out, err = self.run(argv)
        if rc not in (0, 1):
            self.module.fail_json(msg=f"{p['name']}: start-stop-daemon --start exited {rc}: "
                                      f"{(err or out).strip()[-400:]}; its log: {log}")
        return rc == 0          # 1: already running

    def systemd(self, restart: bool) -> bool:
        unit_name = f"carbonlab-{self.p['name']}.service"
        changed_unit = ensure_file(f"/etc/systemd/system/{unit_name}", self.p["unit"], 0o644)
        if changed_unit:
            self.must(["systemctl", "daemon-reload"])
        self.must(["systemctl", "enable", "--quiet", unit_name])
        if restart or changed_unit:
            self.must(["systemctl", "restart", unit_name])
            return True
        rc, _out, _err = self.run(["systemctl", "is-active", "--quiet", unit_name])
        if rc == 0:
            return False
        self.must(["systemctl", "start", unit_name])
        return True


def main() -> None:
    module = AnsibleModule(argument_spec={
        "name": {"type": "str", "default": ""},
        "argv": {"type": "list", "elements": "str", "default": []},
        "dirs": {"type": "list", "elements": "dict", "default": []},
        "files": {"type": "list", "elements": "dict", "default": []},
        "read": {"type": "list", "elements": "path", "default": []},
        "system_user": {"type": "bool", "default": False},
        "user_home": {"type": "path", "default": "/nonexistent"},
        "python": {"type": "str", "default": ""},
        "python_unless": {"type": "path", "default": ""},
        "digest": {"type": "str", "default": ""},
        "stamps_dir": {"type": "path", "default": ""},
        "restart": {"type": "bool", "default": False},
        "manager": {"type": "str", "choices": ["supervisor", "systemd"], "default": "supervisor"},
        "supervisor": {"type": "list", "elements": "str", "default": []},
        "restart_s": {"type": "float", "default": 2.0},
        "start_limit_burst": {"type": "int", "default": 5},
        "start_limit_interval_s": {"type": "float", "default": 60.0},
        "unit": {"type": "str", "default": ""},
        "user": {"type": "str", "default": ""},
        "run_dir": {"type": "path", "default": "/run/carbonlab"},
        "log_dir": {"type": "path", "default": "/var/log/carbonlab"},
        "chdir": {"type": "path", "default": "/"},
        "process_name": {"type": "str", "default": "carbonlab"},
        "stop_grace_s": {"type": "int", "default": 10},
    }, supports_check_mode=False)
    p = module.params
    if p["argv"] and not p["name"]:
        module.fail_json(msg="name is required with argv")
    if p["manager"] == "systemd" and p["argv"] and not p["unit"]:
        module.fail_json(msg=f"{p['name']}: manager systemd needs unit (the unit file's content)")
    runner = p["supervisor"]
    if p["manager"] == "supervisor" and p["argv"] and not (runner and runner[0].startswith("/")):
        module.fail_json(msg=f"{p['name']}: manager supervisor needs supervisor, the command that runs "
                             f"`carbonlab supervise` (argv[0] an absolute path), not {p['supervisor']!r}")
    if p["start_limit_burst"] < 1 or p["restart_s"] < 0 or p["start_limit_interval_s"] < 0:
        module.fail_json(msg=f"{p['name']}: start_limit_burst must be 1 or more, restart_s and "
                             "start_limit_interval_s 0 or more")
    changed: list[str] = []
    if p["system_user"] and p["user"] and not _user_exists(p["user"]):
        home = p["user_home"]
        rc, out, err = module.run_command(["useradd", "--system", "--user-group", "--no-create-home",
                                           "--home-dir", home, "--shell", "/usr/sbin/nologin", p["user"]])
        if rc != 0:
            module.fail_json(msg=f"useradd {p['user']} exited {rc}: {(err or out).strip()[-400:]}")
        changed.append(f"user {p['user']}")
    try:
        changed += [d["path"] for d in p["dirs"]
                    if ensure_dir(d["path"], _mode(d.get("mode", "0755")), d.get("owner", p["user"]))]
        changed += [f["dest"] for f in p["files"]
                    if ensure_file(f["dest"], str(f["content"]), _mode(f.get("mode", "0644")),
                                   f.get("owner", ""))]
    except (OSError, KeyError) as exc:
        module.fail_json(msg=f"{p['name'] or 'layout'}: {exc}", files_changed=changed)
    started = False
    if p["argv"]:
        service = Service(module)
        restart = p["restart"] or bool(changed)
        started = service.systemd(restart) if p["manager"] == "systemd" else service.supervised(restart)
    contents = {}
    for path in p["read"]:
        try:
            with open(path, encoding="utf-8") as fh:
                contents[path] = fh.read()
        except FileNotFoundError:
            continue
    if p["argv"] and p["digest"]:
        try:
            write_stamp(p)
        except OSError as exc:
            module.fail_json(msg=f"{p['name']}: stamp in {p['run_dir']}: {exc}", files_changed=changed)
    version = ""
    skip_version = bool(p["python_unless"]) and os.path.exists(p["python_unless"])
    if p["python"] and os.path.exists(p["python"]) and not skip_version:
        rc, out, _err = module.run_command([p["python"], "-c",
                                            "import sys; print('%d.%d' % sys.version_info[:2])"])
        version = out.strip() if rc == 0 else ""
    stamps = read_stamps(p["stamps_dir"], module.run_command) if p["stamps_dir"] else {}
    module.exit_json(changed=bool(changed) or started, started=started, files_changed=changed,
                     contents=contents, python_version=version, stamps=stamps)


if __name__ == "__main__":
    main()
