"""e2e: hostile or careless clients must not take the exporter down (issue 11).

The exporter runs against the bed's kube-apiserver with the ingest listener on (staticToken).
N connections per port each announce and send an 8 MiB body without credentials: to the metrics
port (an unknown path) and to the ingest endpoint. Before the fix the bodies were read whole
before routing or auth (24 such connections: peak RSS 16 -> 212 MiB, over the chart's 192 MiB
limit). Now every one is refused on its header (404 / 401, the body never read), peak RSS stays
where it was, and a real kube-bench post made right after is accepted.
"""

import os
import socket
import subprocess
import tempfile
import unittest

from bed import env, flood, poll
from test_watch import binary

HERE = os.path.dirname(os.path.abspath(__file__))
REPORT = os.path.join(os.path.dirname(HERE), "data", "kubebench", "result.json")
CHART_MEMORY_LIMIT_MIB = 192  # resourcesPreset nano, the chart's default
CONNECTIONS = 24
BODY = 8 << 20


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


class HostileClientsTest(unittest.TestCase):
    def test_unauthenticated_bodies_are_never_read(self):
        tmp = tempfile.mkdtemp(prefix="ke-e2e-hostile-")
        token = os.path.join(tmp, "token")
        with open(token, "w") as f:
            f.write("s3cret\n")
        mport, iport = free_port(), free_port()
        cfg = os.path.join(tmp, "config.yaml")
        with open(cfg, "w") as f:
            f.write(f"""logLevel: error
omitLookup: true
route: {{routes: [{{match: [{{receiver: out}}]}}]}}
receivers: [{{name: out, file: {{path: {tmp}/out.jsonl}}}}]
ingest: {{enabled: true, address: "127.0.0.1:{iport}", auth: {{mode: staticToken, tokenFile: {token}}}}}
""")
        p = subprocess.Popen([binary(), "-conf", cfg, "-kubeconfig", env("KUBECONFIG"),
                              "-metrics-address", f"127.0.0.1:{mport}"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: (p.poll() is None and p.kill(), p.wait()))

        def ready():
            try:
                socket.create_connection(("127.0.0.1", mport), 1).close()
                socket.create_connection(("127.0.0.1", iport), 1).close()
                return True
            except OSError:
                return False
        poll(ready, 30, what="the exporter's listeners")
        before = peak_rss_mib(p.pid)

        codes = [(port == mport, sent_body, status) for port, sent_body, status in
                 flood(((mport, "/x"), (iport, "/api/v1/kube-bench?node=a")), CONNECTIONS, BODY)]
        after = peak_rss_mib(p.pid)

        post = subprocess.run([binary(), "post-bench", "-file", REPORT, "-url", f"http://127.0.0.1:{iport}",
                               "-node", "wk1", "-target", "node", "-token-file", token],
                              capture_output=True, text=True, timeout=60)
        print(f"hostile clients: {CONNECTIONS} x 8 MiB per port; peak RSS {before:.0f} -> {after:.0f} MiB; "
              f"answers {sorted(set(c[2] for c in codes))}")
        self.assertEqual(len(codes), 2 * CONNECTIONS)
        for metrics_port, sent_body, status in codes:
            want = "404" if metrics_port else "401"
            self.assertIn(status, (want, "reset") if sent_body else (want,), (metrics_port, sent_body))
        self.assertLess(after, CHART_MEMORY_LIMIT_MIB / 2)
        self.assertEqual(post.returncode, 0, post.stdout + post.stderr)
        self.assertIsNone(p.poll(), p.stderr.read() if p.poll() is not None else "")


if __name__ == "__main__":
    unittest.main()
