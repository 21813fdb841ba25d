"""The chaos suite of issue 11 (run it with test/chaos/run; docs/chaos.md).

A generator creates sequence-numbered Events (message `seq=<n>`) at a steady rate in the
scenario's own namespace while the suite injects one fault; then the generator stops, the suite
waits until the store is quiet, and counts every seq in the scenario's own VictoriaLogs:
lost (created, never stored), duplicated (stored more than once with different rows; Loki would
keep both), redelivered (identical extra copies, same _time/stream/line: Loki drops those).
Prints a table and `scenarios=N sent=S lost=L duplicated=D`; exits 1 if anything was lost or
duplicated, a peak RSS went over the chart's limit, or a scenario failed.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
import traceback

import harness as h
from harness import log

REPORT = os.path.join(h.REPO, "test", "data", "kubebench", "result.json")


class Scenario:
    """Shared skeleton: own namespace, own VictoriaLogs, generator, fault, quiesce, count."""

    def start_exporter_and_generator(self, run, extra=""):
        """The usual opening: one exporter (checkpoint as configured), the generator, `run` s."""
        ex = self.exporter("exporter", checkpoint=self.checkpoint(), extra=extra)
        ex.start()
        self.gen.start()
        self.run_for(run)
        return ex

    def __init__(self, name, opts, quick):
        self.name = name
        self.opts = opts
        self.quick = quick
        self.kube = h.Kube()
        self.work = h.make_tmpdir(f"ke-chaos-{name}-")
        self.ns = h.create_namespace(self.kube, f"chaos-{name}")
        self.sampler = h.RssSampler()
        self.vlogs = h.VictoriaLogs(self.work)
        self.gen = None
        self.exporters = []
        self.recovery = None
        self.notes = []
        self.rate = 8.0
        self.pad = 0
        self.quiesce_timeout = 120
        self.extra_fail = []  # reasons to fail besides lost/duplicated

    # -- helpers
    def checkpoint(self, kind="file", tag="ck"):
        if self.opts.no_checkpoint:
            return None
        if kind == "file":
            return {"file": os.path.join(self.work, f"{tag}.json"), "interval": "1s"}
        return {"configMap": f"chaos-ck-{self.ns}", "namespace": self.ns, "interval": "1s"}

    def exporter(self, name, **kw):
        kw.setdefault("spool_dir", os.path.join(self.work, f"spool-{name}"))
        ex = h.Exporter(self.work, name, self.ns, self.vlogs, sampler=self.sampler, **kw)
        self.exporters.append(ex)
        return ex

    def run_for(self, seconds):
        time.sleep(seconds)

    def recover(self, t_end, timeout=180):
        self.recovery = h.measure_recovery(self.vlogs, self.ns, self.gen, t_end, timeout)
        if self.recovery is None:
            self.notes.append(f"no post-fault event stored within {timeout}s")

    # -- the scenario body; subclasses override
    def body(self):
        raise NotImplementedError

    def run(self):
        t0 = time.monotonic()
        result = {"scenario": self.name, "error": None}
        try:
            self.gen = h.Generator(self.ns, self.rate, self.pad)
            self.body()
        except Exception as e:  # noqa: BLE001 - reported in the table
            result["error"] = f"{type(e).__name__}: {e}"
            log(f"{self.name}: FAILED: {traceback.format_exc()}")
        finally:
            if self.gen:
                self.gen.stop()
        try:
            if self.gen and self.vlogs.healthy():
                ok = h.wait_quiescent(self.vlogs, self.ns, self.gen, self.quiesce_timeout)
                if not ok:
                    self.notes.append("store went quiet with seqs missing")
                c = h.count(self.vlogs, self.ns, self.gen.created)
            else:
                c = None
        except Exception as e:  # noqa: BLE001
            c = None
            result["error"] = result["error"] or f"count: {type(e).__name__}: {e}"
        for ex in self.exporters:
            if ex.alive():
                rc = ex.kill(signal.SIGTERM)
                if rc != 0:
                    self.notes.append(f"{ex.name} exit {rc} on SIGTERM")
        self.sampler.close()
        self.vlogs.stop()
        result.update(
            sent=c.sent if c else len(self.gen.created) if self.gen else 0,
            stored=c.stored if c else 0,
            lost=c.lost if c else (len(self.gen.created) if self.gen else 0),
            duplicated=c.duplicated if c else 0,
            redelivered=c.redelivered if c else 0,
            recovery=self.recovery, rss=self.sampler.peak,
            seconds=time.monotonic() - t0, notes=list(self.notes), fail=list(self.extra_fail))
        if c:
            if c.lost_seqs:
                result["notes"].append(f"lost seqs {ranges(c.lost_seqs)}")
            if c.duplicated_seqs:
                result["notes"].append(f"duplicated seqs {ranges(c.duplicated_seqs)}")
            if c.unexpected:
                result["notes"].append(f"unknown seqs in store {ranges(c.unexpected)}")
        if self.gen and self.gen.errors:
            result["notes"].append("generator errors " + ", ".join(
                f"{k} x{v}" for k, v in sorted(self.gen.errors.items())))
        result["logs"] = self.work
        return result


def ranges(seqs):
    out, start, prev = [], None, None
    for s in seqs:
        if start is None:
            start = prev = s
        elif s == prev + 1:
            prev = s
        else:
            out.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = prev = s
    if start is not None:
        out.append(f"{start}" if start == prev else f"{start}-{prev}")
    text = ",".join(out)
    return text if len(text) < 200 else text[:200] + "..."


# ---------------------------------------------------------------------------------------------

class Kill9(Scenario):
    """kill -9 the exporter, start it again after a pause (30 s; --quick 5 s), same config."""

    def body(self):
        pause = 5 if self.quick else 30
        run = 8 if self.quick else 20
        ex = self.start_exporter_and_generator(run)
        log(f"{self.name}: kill -9 the exporter; restart in {pause}s")
        ex.kill(signal.SIGKILL)
        self.run_for(pause)
        t_end = time.monotonic()
        ex.start()
        self.recover(t_end)
        self.run_for(run / 2)


class SigtermDuringOutage(Scenario):
    """The store goes away for 60 s (--quick 20 s); 10 s into the outage the exporter gets
    SIGTERM (its queue goes to the disk spool); the store comes back, the exporter restarts."""

    def body(self):
        outage = 20 if self.quick else 60
        run = 8 if self.quick else 20
        ex = self.start_exporter_and_generator(run)
        log(f"{self.name}: store down for {outage}s")
        t_down = time.monotonic()
        self.vlogs.stop()
        self.run_for(min(10, outage / 2))
        log(f"{self.name}: SIGTERM the exporter during the outage")
        t = time.monotonic()
        rc = ex.kill(signal.SIGTERM, timeout=60)
        self.notes.append(f"SIGTERM exit {rc} after {time.monotonic() - t:.1f}s")
        if rc != 0:
            self.extra_fail.append(f"exit {rc} on SIGTERM")
        self.run_for(max(0.0, outage - (time.monotonic() - t_down)))
        self.vlogs.start()
        ex.start()
        t_end = time.monotonic()
        log(f"{self.name}: store and exporter back")
        self.recover(t_end)
        self.run_for(run / 2)


class ApiserverRestart(Scenario):
    """kill -9 the bed's kube-apiserver and start it again (test_watch.restart_apiserver)."""

    def body(self):
        import test_watch  # test/e2e: the bed's apiserver restart
        run = 8 if self.quick else 20
        ex = self.start_exporter_and_generator(run)
        log(f"{self.name}: restarting kube-apiserver")
        down = test_watch.restart_apiserver()
        t_end = time.monotonic()
        self.notes.append(f"apiserver back after {down:.1f}s")
        self.recover(t_end)
        self.run_for(run / 2)
        self.note_relists(ex)

    def note_relists(self, ex):
        """Notes how often the exporter listed and how often a 410 made it relist."""
        text = ex.this_run_log()
        lists = text.count(" event(s) at resourceVersion")
        gone = text.count('; relisting"')
        self.notes.append(f"lists {lists}, 410s {gone}")
        return gone


class Compaction(ApiserverRestart):
    """Force 410 Gone on the exporter's running watch: the exporter is paused (SIGSTOP, a stalled
    process) while events keep coming, etcd is compacted (physical) at its current revision,
    past the exporter's resourceVersion, and kube-apiserver is restarted so its watch cache
    (which would still serve the old resourceVersion) starts afresh after it; then the exporter
    continues (SIGCONT), its re-watch is answered 410 and it must relist without loss or
    repeats. (Compaction alone never reaches a running watch: it is served from the watch
    cache, and a re-watch from a resourceVersion the cache holds succeeds; measured.)"""

    def body(self):
        import test_watch
        run = 8 if self.quick else 20
        ex = self.start_exporter_and_generator(run)
        log(f"{self.name}: SIGSTOP the exporter, compact etcd, restart kube-apiserver")
        ex.p.send_signal(signal.SIGSTOP)
        try:
            # Its connections are cut too, so the events of the pause are not waiting in its
            # socket buffer (they would move its resourceVersion past the compaction).
            cut = cut_connections(ex.p.pid, api_port())
            self.run_for(3)
            rev = h.etcd_revision()
            h.etcd_compact(rev)
            down = test_watch.restart_apiserver()
        finally:
            ex.p.send_signal(signal.SIGCONT)
        t_end = time.monotonic()
        self.notes.append(f"cut {cut} connection(s), compacted at {rev}, apiserver back after "
                          f"{down:.1f}s")
        self.recover(t_end)
        self.run_for(run / 2)
        if self.note_relists(ex) == 0:
            self.extra_fail.append("no 410 seen: the fault was not injected")


def cut_connections(pid, remote_port):
    """Destroys pid's TCP connections to 127.0.0.1:remote_port (ss -K on its own sockets only,
    found through /proc/<pid>/fd); returns how many."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    local_ports = []
    with open(f"/proc/{pid}/net/tcp") as f:
        for line in list(f)[1:]:
            parts = line.split()
            local, remote, inode = parts[1], parts[2], parts[9]
            if inode in inodes and int(remote.split(":")[1], 16) == remote_port:
                local_ports.append(int(local.split(":")[1], 16))
    for lp in local_ports:
        r = subprocess.run(["ss", "-K", "dst", f"127.0.0.1:{remote_port}", "src",
                            f"127.0.0.1:{lp}"], capture_output=True, text=True, check=False)
        if r.returncode != 0:
            raise RuntimeError(f"ss -K failed (root and CONFIG_INET_DIAG_DESTROY needed): "
                               f"{r.stderr.strip()}")
    with open(f"/proc/{pid}/net/tcp") as f:
        left = [ln for ln in list(f)[1:] if ln.split()[9] in inodes
                and int(ln.split()[2].split(":")[1], 16) == remote_port
                and ln.split()[3] == "01"]  # still ESTABLISHED
    if left:
        raise RuntimeError(f"ss -K did not close {len(left)} connection(s) "
                           "(kernel without CONFIG_INET_DIAG_DESTROY?)")
    return len(local_ports)


def api_port():
    import urllib.parse
    return urllib.parse.urlsplit(h.env("KUBE_APISERVER_URL")).port


class LeaderKill(Scenario):
    """Two replicas with leader election; kill -9 the leader; the standby takes over when the
    Lease expires (15 s)."""

    def body(self):
        run = 8 if self.quick else 20
        lease = f"chaos-{self.ns}"
        ck = self.checkpoint("configMap")
        a = self.exporter("replica-a", checkpoint=ck, leader_id=lease)
        b = self.exporter("replica-b", checkpoint=ck, leader_id=lease)
        a.start(ready="leading, starting")
        a.wait_log("listed ")
        b.start(ready="leader election: Lease")
        self.gen.start()
        self.run_for(run)
        # a led first and b has waited since; whoever logged "leading" last leads.
        leader, standby = (b, a) if "leading, starting" in b.this_run_log() else (a, b)
        log(f"{self.name}: kill -9 the leader {leader.name}")
        leader.kill(signal.SIGKILL)
        t_end = time.monotonic()
        standby.wait_log("leading, starting", timeout=60)
        self.notes.append(f"takeover after {time.monotonic() - t_end:.1f}s")
        self.recover(t_end)
        self.run_for(run / 2)


class SpoolDiskFull(Scenario):
    """The spool dir on a 512 KiB tmpfs; the store down long enough to fill it (events padded
    with 2 KB of random hex, 10/s); queue.onFull block: the watch must pause, nothing lost."""

    def __init__(self, *a):
        super().__init__(*a)
        self.rate = 10.0
        self.pad = 2000

    def body(self):
        outage = 45
        run = 10
        mnt = os.path.join(self.work, "spool-tmpfs")
        h.mount_tmpfs(mnt, "512k")
        try:
            ex = self.exporter("exporter", checkpoint=self.checkpoint(), spool_dir=mnt,
                               spool_max="64MiB", max_queued="64KiB", queue_max=100)
            ex.start()
            self.gen.start()
            self.run_for(run)
            log(f"{self.name}: store down for {outage}s, spool on a 512 KiB tmpfs")
            self.vlogs.stop()
            self.run_for(outage)
            df = os.statvfs(mnt)
            used = (df.f_blocks - df.f_bfree) * df.f_frsize
            self.notes.append(f"spool tmpfs {used // 1024} KiB used at the end of the outage")
            self.vlogs.start()
            t_end = time.monotonic()
            self.recover(t_end)
            self.run_for(run)
            self.notes.append("dropped(metric) %g" % ex.metric_sum("dropped"))
            self.gen.stop()
            h.wait_quiescent(self.vlogs, self.ns, self.gen, 180)
            ex.kill(signal.SIGTERM)
        finally:
            for e in self.exporters:
                if e.alive():
                    e.kill(signal.SIGKILL)
            h.umount(mnt)


class HostileFlood(Scenario):
    """24 connections per port each POSTing 8 MiB without credentials, to the metrics port and
    to the kube-bench ingest port, while events flow; then a real kube-bench post (post-bench)
    must be accepted. Peak RSS must stay under the chart's 192 MiB limit."""

    CONNECTIONS = 24
    BODY = 8 << 20

    def body(self):
        run = 8 if self.quick else 15
        token = os.path.join(self.work, "token")
        with open(token, "w") as f:
            f.write("s3cret\n")
        iport = h.free_port()
        extra = (f'ingest: {{enabled: true, address: "127.0.0.1:{iport}", '
                 f'auth: {{mode: staticToken, tokenFile: {token}}}}}\n')
        ex = self.start_exporter_and_generator(run, extra=extra)
        before = h.vm_hwm_mib(ex.p.pid)
        log(f"{self.name}: flooding ports {ex.metrics_port} and {iport}")
        codes = [status for _, _, status in h.bed.flood(
            [(ex.metrics_port, "/x"), (iport, "/api/v1/kube-bench?node=a")],
            self.CONNECTIONS, self.BODY)]
        t_end = time.monotonic()
        after = h.vm_hwm_mib(ex.p.pid)
        post = subprocess.run(
            [h.binary(), "post-bench", "-file", REPORT, "-url", f"http://127.0.0.1:{iport}",
             "-node", "chaos", "-target", "node", "-token-file", token],
            capture_output=True, text=True, timeout=120)
        self.notes.append(f"RSS {before:.0f}->{after:.0f} MiB; answers "
                          f"{sorted(set(codes))}; kube-bench post rc {post.returncode}")
        if post.returncode != 0:
            self.extra_fail.append("kube-bench post refused: " + (post.stdout + post.stderr)[-300:])
        if not ex.alive():
            self.extra_fail.append("exporter died under the flood")
        self.recover(t_end)
        self.run_for(run / 2)


SCENARIOS = {
    "kill9": Kill9,
    "sigterm-outage": SigtermDuringOutage,
    "apiserver-restart": ApiserverRestart,
    "compact-410": Compaction,
    "leader-kill": LeaderKill,
    "spool-full": SpoolDiskFull,
    "hostile-flood": HostileFlood,
}
QUICK = ["kill9", "compact-410", "leader-kill"]


def fmt_table(results):
    cols = ["scenario", "sent", "stored", "lost", "duplicated", "redelivered", "recovery s",
            "peak RSS MiB", "secs"]
    rows = []
    for r in results:
        rows.append([r["scenario"], str(r["sent"]), str(r["stored"]), str(r["lost"]),
                     str(r["duplicated"]), str(r["redelivered"]),
                     "-" if r["recovery"] is None else f"{r['recovery']:.1f}",
                     f"{r['rss']:.0f}", f"{r['seconds']:.0f}"])
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(cols)]
    line = lambda vals: "| " + " | ".join(v.ljust(w) for v, w in zip(vals, widths)) + " |"  # noqa
    out = [line(cols), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(row) for row in rows]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}, short pauses")
    ap.add_argument("--only", action="append", choices=sorted(SCENARIOS),
                    help="run only this scenario (repeatable)")
    ap.add_argument("--no-checkpoint", action="store_true",
                    help="leave checkpoint: out of the configs (a baseline of a build without it)")
    opts = ap.parse_args()
    names = opts.only or (QUICK if opts.quick else list(SCENARIOS))
    h.binary()
    results = []
    try:
        for name in names:
            log(f"=== {name} ===")
            sc = SCENARIOS[name](name, opts, opts.quick)
            r = sc.run()
            results.append(r)
            log(f"{name}: sent {r['sent']} stored {r['stored']} lost {r['lost']} duplicated "
                f"{r['duplicated']} redelivered {r['redelivered']} recovery {r['recovery']} "
                f"rss {r['rss']:.0f} MiB; {'; '.join(r['notes'])}"
                + (f"; ERROR {r['error']}" if r["error"] else ""))
    finally:
        h.stop_all()
    print(fmt_table(results))
    bad, keep = False, []
    for r in results:
        problems = []
        if r["error"]:
            problems.append(r["error"])
        if r["lost"] or r["duplicated"]:
            problems.append(f"lost {r['lost']}, duplicated {r['duplicated']}")
        if r["rss"] >= h.CHART_MEMORY_LIMIT_MIB:
            problems.append(f"peak RSS {r['rss']:.0f} MiB >= {h.CHART_MEMORY_LIMIT_MIB} MiB")
        problems += r["fail"]
        notes = "; ".join(r["notes"])
        print(f"  {r['scenario']}: {notes}" + (f"  FAIL: {'; '.join(problems)}" if problems else ""))
        bad = bad or bool(problems)
        if problems:
            keep.append(r["logs"])
    print(f"scenarios={len(results)} sent={sum(r['sent'] for r in results)} "
          f"lost={sum(r['lost'] for r in results)} "
          f"duplicated={sum(r['duplicated'] for r in results)}")
    h.remove_dirs(keep)
    if keep:
        print("work dirs (logs, configs) of the failed scenarios kept: " + " ".join(keep))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
