"""Where the exporter ships to, and the bookkeeping of what arrived when.

DeliveryTracker  which event seqs arrived (first time each, monotonic), duplicates, lines
                 that carry no event of this run; wakes waiters when all have arrived
FileTail         follows the file receiver's output (inotify through ctypes, so a line is
                 seen when it is written, not at the next poll) and hands complete lines on
LokiServer       plain-HTTP Loki push endpoint (POST /loki/api/v1/push): protobuf+snappy
                 (logproto.PushRequest, snappy block format) or JSON (optionally gzip);
                 answers 204 as Loki does

The snappy decompressor and the protobuf reader are small pure-Python implementations of
the wire formats (shared/reference/loki-kube-bench-prometheus.md §1.2, §1.4); where the
system has libsnappy, it decompresses instead (ctypes; ~20x faster), checked against the
pure-Python one on the first push.
"""

import ctypes
import ctypes.util
import gzip
import json
import os
import select
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class DeliveryTracker:
    """Counts deliveries per event seq; thread-safe."""

    def __init__(self, events, on_list_done=None, on_all_done=None):
        self.events = events
        self.n0, self.total = events.n0, events.total
        self.recv = [0.0] * self.total  # first arrival (monotonic) per seq; 0.0 = not yet
        self.delivered = 0
        self.list_delivered = 0
        self.lines = 0
        self.duplicates = 0
        self.foreign = 0  # lines with no event uid of this run
        self.exited = False  # set by the process watcher: stop waiting
        self.cond = threading.Condition()
        self._completed = False
        self._on_list_done = on_list_done
        self._on_all_done = on_all_done

    def deliver(self, lines, t):
        """lines: the shipped lines (bytes) that arrived at monotonic time t."""
        seqs_in = self.events.seqs_in
        list_done = all_done = False  # each callback fires once: on the call that completed it
        with self.cond:
            for line in lines:
                self.lines += 1
                seqs = set(seqs_in(line))
                if not seqs:
                    self.foreign += 1
                for s in seqs:
                    if s >= self.total:
                        self.foreign += 1
                    elif self.recv[s]:
                        self.duplicates += 1
                    else:
                        self.recv[s] = t
                        self.delivered += 1
                        if s < self.n0:
                            self.list_delivered += 1
                            list_done |= self.list_delivered == self.n0
            if self.delivered == self.total and not self._completed:
                self._completed = all_done = True  # the call that completed the set
                self.cond.notify_all()
        # Callbacks outside the lock: they read /proc of the exporter.
        if list_done and self._on_list_done:
            self._on_list_done(t)
        if all_done and self._on_all_done:
            self._on_all_done(t)

    def set_exited(self):
        with self.cond:
            self.exited = True
            self.cond.notify_all()

    def wait(self, timeout):
        """Until everything arrived, the exporter exited, or timeout s; True if all arrived."""
        with self.cond:
            self.cond.wait_for(lambda: self.delivered >= self.total or self.exited, timeout)
            return self.delivered >= self.total


# ------------------------------------------------------------------------------------------
# File receiver: follow the file as the exporter appends to it.

IN_MODIFY, IN_CLOSE_WRITE, IN_MOVED_TO, IN_CREATE = 0x2, 0x8, 0x80, 0x100


class _Inotify:
    """The Linux inotify API through ctypes (standard library only); None if unavailable."""

    @classmethod
    def watch_dir(cls, directory):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
            if fd < 0:
                return None
            wd = libc.inotify_add_watch(fd, os.fsencode(directory),
                                        IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE)
            if wd < 0:
                os.close(fd)
                return None
        except (OSError, AttributeError):
            return None
        self = cls()
        self.fd = fd
        return self

    def drain(self):
        try:
            while os.read(self.fd, 65536):
                pass
        except BlockingIOError:
            pass

    def close(self):
        os.close(self.fd)


class FileTail(threading.Thread):
    """Reads what the exporter appends to path and hands complete lines to the tracker."""

    def __init__(self, path, tracker):
        super().__init__(daemon=True, name="file-tail")
        self.path = path
        self.tracker = tracker
        self.bytes = 0
        self._stop_r, self._stop_w = os.pipe()
        self._ino = _Inotify.watch_dir(os.path.dirname(path))

    def stop(self):
        os.write(self._stop_w, b"x")
        self.join()

    def run(self):
        f = None
        rest = b""
        stopping = False
        while True:
            if f is None:
                try:
                    f = open(self.path, "rb")
                except FileNotFoundError:
                    pass
            if f is not None:
                data = f.read()
                if data:
                    t = time.monotonic()
                    self.bytes += len(data)
                    data = rest + data
                    cut = data.rfind(b"\n") + 1
                    rest = data[cut:]
                    if cut:
                        self.tracker.deliver(data[:cut].split(b"\n")[:-1], t)
                    continue  # maybe more already: read again before waiting
            if stopping:
                break
            # Wait for a change in the directory (or poll every 5 ms without inotify). An
            # event that came after the read above is still queued: no wake-up is lost.
            fds = [self._stop_r] + ([self._ino.fd] if self._ino else [])
            r, _, _ = select.select(fds, [], [], None if self._ino else 0.005)
            if self._ino and self._ino.fd in r:
                self._ino.drain()
            if self._stop_r in r:
                stopping = True  # one last read, then out
        if f is not None:
            f.close()
        if self._ino:
            self._ino.close()


# ------------------------------------------------------------------------------------------
# Snappy (block format) and protobuf, just enough for logproto.PushRequest.

def _uvarint(buf, pos):
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def snappy_decompress(data):
    """Decodes one snappy block (not the framed format): a uvarint length, then elements."""
    n, pos = _uvarint(data, 0)
    out = bytearray()
    end = len(data)
    while pos < end:
        tag = data[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:  # literal; lengths over 60 follow in 1..4 little-endian bytes
            length = tag >> 2
            if length >= 60:
                extra = length - 59
                length = int.from_bytes(data[pos:pos + extra], "little")
                pos += extra
            length += 1
            if pos + length > end:
                raise ValueError("snappy: literal past the end")
            out += data[pos:pos + length]
            pos += length
            continue
        if kind == 1:  # copy, 1-byte offset: 3 bits of length-4, 11 bits of offset
            length = 4 + ((tag >> 2) & 7)
            offset = ((tag >> 5) << 8) | data[pos]
            pos += 1
        elif kind == 2:  # copy, 2-byte offset
            length = (tag >> 2) + 1
            offset = data[pos] | (data[pos + 1] << 8)
            pos += 2
        else:  # copy, 4-byte offset
            length = (tag >> 2) + 1
            offset = int.from_bytes(data[pos:pos + 4], "little")
            pos += 4
        if offset == 0 or offset > len(out):
            raise ValueError("snappy: bad copy offset")
        start = len(out) - offset
        if offset >= length:
            out += out[start:start + length]
        else:  # overlapping copy: the last `offset` bytes repeat
            pattern = bytes(out[start:])
            out += (pattern * (length // offset + 1))[:length]
    if len(out) != n:
        raise ValueError(f"snappy: decoded {len(out)} bytes, header says {n}")
    return bytes(out)


class _NativeSnappy:
    """libsnappy's C API through ctypes, when the system has it (the exporter links it): ~20x
    faster than snappy_decompress, so a fast exporter does not wait on this receiver.
    snappy_decompress stays the reference: LokiServer checks the first push with both."""

    def __init__(self):
        lib = ctypes.CDLL(ctypes.util.find_library("snappy") or "libsnappy.so.1")
        self._length = lib.snappy_uncompressed_length
        self._length.argtypes = [ctypes.c_char_p, ctypes.c_size_t,
                                 ctypes.POINTER(ctypes.c_size_t)]
        self._uncompress = lib.snappy_uncompress
        self._uncompress.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p,
                                     ctypes.POINTER(ctypes.c_size_t)]

    def __call__(self, data):
        n = ctypes.c_size_t()
        if self._length(data, len(data), ctypes.byref(n)) != 0:
            raise ValueError("snappy: bad length header")
        out = ctypes.create_string_buffer(n.value or 1)
        if self._uncompress(data, len(data), out, ctypes.byref(n)) != 0:
            raise ValueError("snappy: corrupt input")
        return out.raw[:n.value]


def native_snappy():
    """A libsnappy-backed decompressor, or None."""
    try:
        return _NativeSnappy()
    except (OSError, AttributeError):
        return None


def _pb_fields(buf, pos, end):
    """Yields (field number, wire type, value): ints for varint/fixed, (start, end) for LEN."""
    while pos < end:
        key, pos = _uvarint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _uvarint(buf, pos)
        elif wire == 2:
            length, pos = _uvarint(buf, pos)
            value = (pos, pos + length)
            pos += length
            if pos > end:
                raise ValueError("protobuf: field past the end")
        elif wire == 1:
            value = int.from_bytes(buf[pos:pos + 8], "little")
            pos += 8
        elif wire == 5:
            value = int.from_bytes(buf[pos:pos + 4], "little")
            pos += 4
        else:
            raise ValueError(f"protobuf: wire type {wire}")
        yield field, wire, value


def parse_push_request(buf):
    """logproto.PushRequest -> [(labels, [(timestamp ns, line bytes)])].

    PushRequest{streams=1}; StreamAdapter{labels=1, entries=2};
    EntryAdapter{timestamp=1 (google.protobuf.Timestamp{seconds=1, nanos=2}), line=2}.
    """
    streams = []
    for f, w, v in _pb_fields(buf, 0, len(buf)):
        if f != 1 or w != 2:
            continue
        labels, entries = "", []
        for sf, sw, sv in _pb_fields(buf, *v):
            if sf == 1 and sw == 2:
                labels = buf[sv[0]:sv[1]].decode()
            elif sf == 2 and sw == 2:
                ts, line = 0, b""
                for ef, ew, ev in _pb_fields(buf, *sv):
                    if ef == 1 and ew == 2:
                        secs = nanos = 0
                        for tf, tw, tv in _pb_fields(buf, *ev):
                            if tf == 1 and tw == 0:
                                secs = tv
                            elif tf == 2 and tw == 0:
                                nanos = tv
                        ts = secs * 1_000_000_000 + nanos
                    elif ef == 2 and ew == 2:
                        line = buf[ev[0]:ev[1]]
                entries.append((ts, line))
        streams.append((labels, entries))
    return streams


def parse_json_push(body):
    """Loki's JSON push body -> the same shape as parse_push_request."""
    doc = json.loads(body)
    streams = []
    for s in doc.get("streams") or []:
        labels = "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(s.get("stream", {}).items())) \
                 + "}"
        streams.append((labels, [(int(v[0]), v[1].encode()) for v in s.get("values") or []]))
    return streams


class LokiServer:
    """A fake Loki: counts pushes, streams, entries; feeds entry lines to the tracker."""

    def __init__(self, tracker):
        self.tracker = tracker
        self.pushes = 0
        self.entries = 0
        self.body_bytes = 0
        self.decoded_bytes = 0
        self.label_sets = set()
        self.errors = []
        self.encodings = set()
        self.decode_seconds = 0.0  # time spent decoding: is the receiver a bottleneck?
        self.snappy = native_snappy()
        self.snappy_name = "libsnappy" if self.snappy else "pure-Python snappy"
        self._checked = self.snappy is None  # the first push: both decompressors must agree
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _LokiHandler)
        self.server.daemon_threads = True
        self.server.loki = self
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/loki/api/v1/push"
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.2}, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def push(self, body, content_type, content_encoding, t):
        """Decodes one push; returns (HTTP status, error text)."""
        t_decode = time.monotonic()
        try:
            if content_encoding in ("gzip", "deflate"):
                body = gzip.decompress(body) if content_encoding == "gzip" else \
                    zlib.decompress(body)
            elif content_encoding not in ("", "snappy"):
                return 400, f'Content-Encoding "{content_encoding}" not supported'
            if content_type.split(";")[0].strip() == "application/json":
                streams = parse_json_push(body)
                kind = "json" + ("+" + content_encoding if content_encoding else "")
                decoded = len(body)
            else:
                raw = (self.snappy or snappy_decompress)(body)
                if not self._checked:
                    self._checked = True
                    if snappy_decompress(body) != raw:
                        raise ValueError("snappy_decompress disagrees with libsnappy")
                streams = parse_push_request(raw)
                kind = "protobuf+snappy"
                decoded = len(raw)
        except (ValueError, IndexError, KeyError, TypeError, OSError, zlib.error) as e:
            with self._lock:
                self.errors.append(str(e))
            return 400, f"couldn't parse push request: {e}"
        lines = [line for _, entries in streams for _, line in entries]
        with self._lock:
            self.pushes += 1
            self.entries += len(lines)
            self.decoded_bytes += decoded
            self.encodings.add(kind)
            self.label_sets.update(labels for labels, _ in streams)
            self.decode_seconds += time.monotonic() - t_decode
        self.tracker.deliver(lines, t)
        return 204, ""


class _LokiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _reply(self, code, text=""):
        body = (text + "\n").encode() if text else b""
        self.send_response(code)
        if body:
            self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_POST(self):
        loki = self.server.loki
        body = self._body()
        t = time.monotonic()
        if self.path.split("?")[0] != "/loki/api/v1/push":
            return self._reply(404, "404 page not found")
        with loki._lock:
            loki.body_bytes += len(body)
        code, text = loki.push(body, self.headers.get("Content-Type", ""),
                               self.headers.get("Content-Encoding", "").lower(), t)
        self._reply(code, text)

    def do_GET(self):
        if self.path == "/ready":
            return self._reply(200, "ready")
        self._reply(404, "404 page not found")
