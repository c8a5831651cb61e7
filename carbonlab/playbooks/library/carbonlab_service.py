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
  - With C(argv), keeps the service running under start-stop-daemon (pidfile NAME.pid in
    C(run_dir), output to NAME.log in C(log_dir)) or systemd (unit carbonlab-NAME.service
    from C(unit)); restarts it when a file changed or C(restart) is true.
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
    description: Files as dicts with dest, content and mode (root-owned, like /etc).
    type: list
    elements: dict
    default: []
  read: {description: Files whose content to return when they exist., type: list, elements: path, default: []}
  system_user: {description: Create C(user) as a system user when missing., type: bool, default: false}
  user_home: {description: Home directory of a user it creates (not made)., type: path, default: /nonexistent}
  python: {description: Interpreter whose major.minor to report (empty - none)., type: str, default: ""}
  restart: {description: Restart even if no file changed., type: bool, default: false}
  manager:
    description: Service manager.
    type: str
    choices: [start-stop-daemon, systemd]
    default: start-stop-daemon
  unit: {description: Unit file content (systemd)., type: str, default: ""}
  user: {description: Run as this user (empty - the connection's user)., type: str, default: ""}
  run_dir: {description: Where the pidfile goes., type: path, default: /run/carbonlab}
  log_dir: {description: Where the output goes., type: path, default: /var/log/carbonlab}
  chdir: {description: Working directory., type: path, default: /}
  process_name: {description: Process name start-stop-daemon matches., type: str, default: carbonlab}
  stop_grace_s: {description: Seconds between SIGTERM and SIGKILL., type: int, default: 10}
"""

RETURN = r"""
started: {description: The service was started or restarted., type: bool, returned: always}
files_changed: {description: Paths of the directories and files that changed., type: list, returned: always}
contents: {description: Path -> text of each C(read) file that exists., type: dict, returned: always}
python_version: {description: major.minor of C(python), or empty., type: str, returned: always}
"""

import os
import pwd
import tempfile
from typing import Any

from ansible.module_utils.basic import AnsibleModule


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
    info = os.stat(path)
    if info.st_mode & 0o7777 != mode:
        os.chmod(path, mode)
        changed = True
    uid, gid = _ids(owner)
    if uid >= 0 and (info.st_uid, info.st_gid) != (uid, gid):
        os.chown(path, uid, gid)
        changed = True
    return changed


def ensure_file(dest: str, content: str, mode: int) -> bool:
    data = content.encode()
    try:
        with open(dest, "rb") as old:
            same = old.read() == data
    except FileNotFoundError:
        same = False
    if same:
        if os.stat(dest).st_mode & 0o7777 != mode:
            os.chmod(dest, mode)
            return True
        return False
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dest), prefix=".carbonlab-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True


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

    def ssd(self, restart: bool) -> bool:
        pidfile = os.path.join(self.p["run_dir"], self.p["name"] + ".pid")
        log = os.path.join(self.p["log_dir"], self.p["name"] + ".log")
        if restart:
            self.must(["start-stop-daemon", "--stop", "--quiet", "--oknodo", "--retry",
                       f"TERM/{self.p['stop_grace_s']}/KILL/5", "--pidfile", pidfile, "--remove-pidfile"])
        argv = ["start-stop-daemon", "--start", "--quiet", "--background", "--make-pidfile",
                "--pidfile", pidfile, "--name", self.p["process_name"], "--chdir", self.p["chdir"],
                "--output", log]
        if self.p["user"]:
            argv += ["--chuid", self.p["user"]]
        argv += ["--startas", self.p["argv"][0], "--", *self.p["argv"][1:]]
        rc, out, err = self.run(argv)
        if rc not in (0, 1):
            self.module.fail_json(msg=f"{self.p['name']}: start-stop-daemon --start exited {rc}: "
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
        "restart": {"type": "bool", "default": False},
        "manager": {"type": "str", "choices": ["start-stop-daemon", "systemd"],
                    "default": "start-stop-daemon"},
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
                    if ensure_file(f["dest"], str(f["content"]), _mode(f.get("mode", "0644")))]
    except (OSError, KeyError) as exc:
        module.fail_json(msg=f"{p['name'] or 'layout'}: {exc}", files_changed=changed)
    started = False
    if p["argv"]:
        service = Service(module)
        restart = p["restart"] or bool(changed)
        started = service.systemd(restart) if p["manager"] == "systemd" else service.ssd(restart)
    contents = {}
    for path in p["read"]:
        try:
            with open(path, encoding="utf-8") as fh:
                contents[path] = fh.read()
        except FileNotFoundError:
            continue
    version = ""
    if p["python"] and os.path.exists(p["python"]):
        rc, out, _err = module.run_command([p["python"], "-c",
                                            "import sys; print('%d.%d' % sys.version_info[:2])"])
        version = out.strip() if rc == 0 else ""
    module.exit_json(changed=bool(changed) or started, started=started, files_changed=changed,
                     contents=contents, python_version=version)


if __name__ == "__main__":
    main()
