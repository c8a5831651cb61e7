"""The lab lifecycle: absent -> hosts_up -> provisioned -> healthy, and down to absent.

Each step first moves the state file's phase (a wrong transition raises
TransitionError before anything is touched), then acts. `up` on a running lab walks
the same path again: the provider keeps the hosts it has, the playbook changes nothing
that is right already, and health is checked afresh, so `up` converges. `down` removes
what the state file lists and is safe to repeat.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carbonlab.lab import health, inventory
from carbonlab.lab.ansible_run import PlaybookResult, run_playbook
from carbonlab.lab.errors import LabError, StateError, StepError, TransitionError, UpFailed
from carbonlab.lab.genesis_change import check_same_genesis
from carbonlab.lab.names import client_service, gateway_service, node_service, prometheus_skipped_file
from carbonlab.lab.port_holders import check_ports_free
from carbonlab.lab.ports import PortPlan, check_outside_ephemeral, plan
from carbonlab.lab.proc import start_time
from carbonlab.lab.providers import make_provider, provider_class
from carbonlab.lab.providers.base import Provider
from carbonlab.lab.resources import PlaybookRun
from carbonlab.lab.resources.processes import stop_playbook
from carbonlab.lab.state import LabState, Phase, check_lab_dir, locked
from carbonlab.lab.supervisor import last_word, supervisor_gone
from carbonlab.lab.topology import Topology
from carbonlab.lab.wheelhouse import build as build_wheelhouse
from carbonlab.lab.wheelhouse import checked_mark


def default_lab_dir(topo: Topology) -> Path:
    return Path.cwd() / "var" / "labs" / topo.lab_id


@dataclass
class UpTimes:
    hosts_s: float = 0.0
    provision_s: float = 0.0
    healthy_s: float = 0.0
    changed: int = 0


class Lab:
    def __init__(self, topo: Topology, lab_dir: Path, provider: str | None = None,
                 progress: Callable[[str], None] = print) -> None:
        check_lab_dir(lab_dir)
        self.topo = topo
        self.lab_dir = lab_dir.resolve()
        self.progress = progress
        self.state = LabState.load(self.lab_dir / "state.json")
        if self.state.lab_id and self.state.lab_id != topo.lab_id:
            raise StateError(f"{self.lab_dir}: holds lab {self.state.lab_id!r}, not {topo.lab_id!r}")
        running = self.state.provider if self.state.phase != Phase.ABSENT or self.state.resources else ""
        chosen = provider or running or topo.provider
        if running and chosen != running:
            raise StateError(f"lab {topo.lab_id} is up on provider {running}; `carbonlab lab down` "
                             f"it before bringing it up on {chosen}")
        self.provider_name = chosen
        self.provider: Provider = make_provider(chosen, topo, self.lab_dir, self.state, progress)

    @property
    def inventory_path(self) -> Path:
        return self.lab_dir / "inventory.yml"

    def ports(self) -> PortPlan:
        return plan(self.topo, self.provider.addresses(), loopback_ports=self.provider.loopback_ports)

    # up --------------------------------------------------------------------------------------
    def up(self, *, health_timeout_s: float = 180.0, wait_healthy: bool = True,
           down_on_failure: bool = False) -> UpTimes:
        """Bring the lab up (converging a running one). On failure nothing is left unsaid: a
        LabError becomes UpFailed naming what the lab left running (or, with `down_on_failure`,
        it is taken down first); any other error is re-raised after the same account. Loopback
        ports in the machine's ephemeral range, or held by anything but this lab's own
        processes, are refused before anything is touched, and so is a topology that would
        change the running lab's genesis (its ledgers are made for that one)."""
        if (self.lab_dir / "genesis.json").is_file():     # provisioned once: ledgers exist
            check_same_genesis(inventory.genesis_spec(self.topo, self.ports()),
                               self.lab_dir / "genesis.json", self.topo.path, self.lab_dir)
        if self.provider.loopback_ports:
            ports = self.ports()
            check_outside_ephemeral(self.topo, ports)
            check_ports_free(self.topo, ports, self.lab_dir)
        try:
            return self._up(health_timeout_s, wait_healthy)
        except (StateError, TransitionError):
            raise           # refused before touching anything (locked, another lab's directory)
        except BaseException as exc:
            failure = self._failed_up(exc, down_on_failure)
            if isinstance(exc, LabError):
                raise failure from exc
            self.progress(str(failure))
            raise

    def _failed_up(self, exc: BaseException, down_on_failure: bool) -> UpFailed:
        cause = exc if isinstance(exc, LabError) else LabError(f"{type(exc).__name__}: {exc}")
        down_error: LabError | None = None
        if down_on_failure:
            self.progress(f"[{self.topo.lab_id}] up failed; taking the lab down again (--down-on-failure)")
            try:
                self.down()
            except LabError as err:
                down_error = err
        return UpFailed(cause, self.provider.remains(), down_on_failure, down_error)

    def _up(self, health_timeout_s: float, wait_healthy: bool) -> UpTimes:
        times = UpTimes()
        with locked(self.lab_dir):
            start = time.monotonic()
            self._begin_up()
            self.progress(f"[{self.topo.lab_id}] hosts ({self.provider_name})")
            self.provider.create_hosts()
            times.hosts_s = time.monotonic() - start
            self.progress(f"[{self.topo.lab_id}] provisioning with playbooks/site.yml "
                          f"(log: {self.lab_dir / 'logs' / 'site.log'})")
            result = self.provision()
            times.changed = result.changed
            self.state.advance(Phase.PROVISIONED)
            times.provision_s = time.monotonic() - start
            if wait_healthy:
                self.progress(f"[{self.topo.lab_id}] waiting for the lab to be healthy")
                self.wait_healthy(health_timeout_s)
                self.state.advance(Phase.HEALTHY)
                times.healthy_s = time.monotonic() - start
        return times

    def _begin_up(self) -> None:
        """Record which lab this directory holds and move to hosts_up (the lock held)."""
        self.state.lab_id = self.topo.lab_id
        self.state.provider = self.provider_name
        # absolute: `status`/`up --lab-dir` given from another directory find it again
        self.state.topology = str(Path(self.topo.path).resolve())
        self.state.advance(Phase.HOSTS_UP)

    def provision(self, log_name: str = "site.log", *, same_code: bool = False) -> PlaybookResult:
        """Run site.yml. `same_code` reuses the wheelhouse the lab was last provisioned with
        (a converge check of the same release); otherwise the current source tree is built and
        a changed tree is installed."""
        extra: dict[str, Any] = {}
        if any(self.provider.host_vars(h.id).get("carbonlab_install") for h in self.topo.hosts):
            last = self.state.facts.get("wheelhouse")
            if (same_code and last and "carbonlab_venv_pack" in last
                    and Path(last["carbonlab_wheelhouse_tar"]).exists()
                    and (not last["carbonlab_venv_pack"]
                         or checked_mark(Path(last["carbonlab_venv_pack"])).exists())):
                extra = dict(last)
            else:
                house = build_wheelhouse(self.lab_dir / "logs" / "wheelhouse.log")
                extra = house.ansible_vars()
                self.state.facts["wheelhouse"] = extra
                self.state.save()
        inv = inventory.build(self.topo, self.lab_dir, self.provider, self.ports(), extra)
        inventory.write(inv, self.inventory_path)
        records: list[PlaybookRun] = []

        def started(pid: int) -> None:
            # If this command dies, `down` must end the playbook too: its forks run in sessions
            # of their own and outlive their parent.
            records.append(self.state.record(PlaybookRun(pid, start_time(pid), str(self.inventory_path))))

        try:
            return run_playbook("site.yml", self.inventory_path, self.lab_dir / "logs" / log_name,
                                env=self.provider.ansible_env(), progress=self.progress,
                                on_start=started)
        except StepError as exc:
            self._stop_playbooks(records)
            raise self._explained(exc) from None
        except BaseException:
            # Ctrl-C (or any error here): run_playbook ended its child, but the playbook's forks
            # run in sessions of their own and would go on starting services after `up` said
            # what it left; end them by PID as `down` does before anything is reported
            self._stop_playbooks(records)
            raise
        finally:
            for entry in records:
                self.state.forget(entry)

    def _stop_playbooks(self, records: list[PlaybookRun]) -> None:
        for entry in records:
            left = stop_playbook(entry.pid, entry.started, entry.inventory)
            if left:
                self.progress(f"[{self.topo.lab_id}] {left}")

    def wait_healthy(self, timeout_s: float) -> health.LabFacts:
        deadline = time.monotonic() + timeout_s
        reason = ""
        while True:
            facts = self._gather()
            ok, reason = facts.healthy()
            if ok:
                self.progress(f"[{self.topo.lab_id}] healthy: {reason}")
                return facts
            if time.monotonic() > deadline:
                break
            time.sleep(1.0)
        host = next((n.host for n in facts.nodes if not n.up), self.topo.members[0].host)
        raise self._explained(StepError(host, "health", reason, str(self.provider.service_log(host))))

    # down ------------------------------------------------------------------------------------
    def down(self) -> None:
        take_down(self.lab_dir, self.state, self.progress)

    # status ----------------------------------------------------------------------------------
    def facts(self) -> health.LabFacts | None:
        """What the lab's services answer, a down one with its supervisor's last word."""
        if self.state.phase == Phase.ABSENT:
            return None
        facts = self._gather()
        self._explain_down(facts)
        return facts

    def _gather(self) -> health.LabFacts:
        # no log reading here: `wait_healthy` gathers every second while services start, and
        # explains only a failure at its end (`_explained`)
        return health.gather(self.topo, self.ports(),
                             prometheus_skipped=prometheus_skipped_file(self.lab_dir).exists())

    def _explain_down(self, facts: health.LabFacts) -> None:
        """A service that does not answer gets its supervisor's last word appended, where its
        host's log can be read from here (local and netns hosts; on real hosts systemd keeps
        it): a service whose supervisor gave up stays down until `lab up` starts it again."""
        down: list[tuple[health.NodeFacts | health.GatewayFacts | health.ClientFacts, str]] = [
            *((n, node_service(n.member)) for n in facts.nodes if not n.up),
            *((g, gateway_service(g.gateway)) for g in facts.gateways if not g.up),
            *((c, client_service(c.member)) for c in facts.clients if not c.up)]
        for item, service in down:
            word = self._service_word(item.host, service)
            if word:
                item.error = f"{item.error}; {word}" if item.error else word

    def _service_word(self, host: str, service: str) -> str | None:
        """`supervisor.last_word` of `service` on `host`, where its log is readable from here;
        else, where its supervisor's PIDs are this machine's, whether that supervisor is gone
        (a killed one leaves no last word)."""
        log_dir = self.provider.service_log(host)
        word = last_word(log_dir / f"{service}.log") if log_dir.is_absolute() else None
        run_dir = self.provider.service_run_dir(host)
        return word or (supervisor_gone(run_dir, service) if run_dir is not None else None)

    def _explained(self, exc: StepError) -> StepError:
        """`exc` with the supervisor's last word on each service of its host that has one (a
        service that would not start: its start limit, and the error it wrote)."""
        services = [*(node_service(m.id) for m in self.topo.members if m.host == exc.host),
                    *(gateway_service(g.id) for g in self.topo.gateways if g.host == exc.host),
                    *(client_service(m.id) for m in self.topo.members if m.host == exc.host)]
        words = [f"{service}: {word}" for service in services
                 if (word := self._service_word(exc.host, service))]
        if not words:
            return exc
        return StepError(exc.host, exc.step, f"{exc.problem}; {'; '.join(words)}", exc.log)


def take_down(lab_dir: Path, state: LabState, progress: Callable[[str], None] = print) -> None:
    """Remove everything the lab's state file lists, with the provider that made it. The state
    file is all it needs: the topology the lab came from may be gone or edited since."""
    lab_dir = lab_dir.resolve()
    name = state.lab_id or lab_dir.name
    with locked(lab_dir):
        progress(f"[{name}] removing {len(state.resources)} recorded objects ({state.provider or 'none'})")
        refused = [why for r in state.resources if (why := r.refusal(lab_dir))]
        if refused:
            more = f"; and {len(refused) - 3} more" if len(refused) > 3 else ""
            progress(f"[{name}] leaving {len(refused)} recorded object(s) alone: "
                     f"{'; '.join(refused[:3])}{more} (a state file copied from another lab or "
                     "edited? down touches only what is inside its own lab directory)")
        maker = provider_class(state.provider) if state.provider else Provider
        maker.destroy_recorded(lab_dir, state)
        state.reset()
        for file in ("inventory.yml", "genesis.json"):
            (lab_dir / file).unlink(missing_ok=True)
        prometheus_skipped_file(lab_dir).unlink(missing_ok=True)
        progress(f"[{name}] down")
