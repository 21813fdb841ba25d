"""A process's CPU seconds and memory from /proc, and percentiles."""

import os

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of pid (all its threads) in seconds, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # After the ")" of comm: state is field 3, so utime (14) and stime (15) are 11 and 12.
    return (int(fields[11]) + int(fields[12])) / _TICKS


def memory(pid):
    """{"VmHWM": bytes, "VmRSS": bytes} of pid (peak and current resident set), or {}."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    out[key] = int(value.split()[0]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


def sample(pid, t):
    """(monotonic time, CPU s, peak RSS bytes) of pid now."""
    return {"t": t, "cpu": cpu_seconds(pid), "hwm": memory(pid).get("VmHWM")}


def percentile(sorted_values, p):
    """Nearest-rank percentile (p in 0..100) of an ascending list; None if empty."""
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, -(-len(sorted_values) * p // 100) - 1))
    return sorted_values[int(k)]
