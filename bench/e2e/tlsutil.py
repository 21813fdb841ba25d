"""A throw-away CA and a server certificate for 127.0.0.1, made with the openssl CLI.

RSA 2048 as kubeadm's apiserver certificate; the server certificate carries
subjectAltName IP:127.0.0.1 and DNS:localhost, so the exporter verifies it against the CA
named in the kubeconfig (certificate-authority) with no skip-verify.
"""

import os
import subprocess


def _openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {r.stderr.strip()}")


def make_certs(directory):
    """Writes ca.crt, ca.key, server.crt, server.key in directory; returns their paths."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
             "-out", "ca.crt", "-days", "2", "-subj", "/CN=run-e2e-ca",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
             "-out", "server.csr", "-subj", "/CN=kube-apiserver", cwd=directory)
    with open(os.path.join(directory, "server.ext"), "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "server.ext",
             cwd=directory)
    return {name: os.path.join(directory, name)
            for name in ("ca.crt", "ca.key", "server.crt", "server.key")}
