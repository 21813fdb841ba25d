#!/bin/sh
# A kubeconfig exec credential plugin (client.authentication.k8s.io/v1) for the watch tests.
# Prints an ExecCredential with the token stored in $KE_TOKEN_FILE (and an expirationTimestamp
# when $KE_EXPIRES is set), appends a line to $KE_RUNS_FILE per run, saves the
# KUBERNETES_EXEC_INFO it was given to $KE_INFO_FILE, and fails when $KE_FAIL_FILE exists.
# With $KE_CERT_FILE and $KE_KEY_FILE set it returns that client certificate and key instead.
echo run >> "$KE_RUNS_FILE"
printf '%s' "$KUBERNETES_EXEC_INFO" > "$KE_INFO_FILE"
if [ -e "$KE_FAIL_FILE" ]; then
  echo "plugin failed on purpose" >&2
  exit 3
fi
if [ -n "$KE_CERT_FILE" ]; then
  # Client certificate mode: PEM files as JSON strings (newlines escaped).
  cert=$(awk '{printf "%s\\n", $0}' "$KE_CERT_FILE")
  key=$(awk '{printf "%s\\n", $0}' "$KE_KEY_FILE")
  printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"clientCertificateData":"%s","clientKeyData":"%s"}}\n' "$cert" "$key"
  exit 0
fi
tok=$(cat "$KE_TOKEN_FILE")
if [ -n "$KE_EXPIRES" ]; then
  exp=",\"expirationTimestamp\":\"$KE_EXPIRES\""
else
  exp=""
fi
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"%s}}\n' "$tok" "$exp"
