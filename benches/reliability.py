#!/usr/bin/env python3
"""benches/reliability.py: black-box reliability measurements of `smsgate serve`.

Each scenario starts its own `smsgate serve` (release binary) on a free port
of 127.0.0.1, with a fresh temporary data directory and a configuration file
passed by --config, creates its accounts with `smsgate account add`, talks
SMPP to it through the minimal client below (our own encoder/decoder, not
the gateway's code) and stops the server at the end. No connector is
configured, so the built-in simulator answers every message and sends a
DELIVRD receipt about 0.5 s later.

Usage:

    python3 benches/reliability.py [--bin target/release/smsgate] [--keep] [scenario ...]

Scenarios (default: all, in this order):

  failed-binds    RSS before/after 1,000 wrong-password binds from 200 source
                  addresses (127.0.0.2-201, 5 each, 40 addresses at a time),
                  how they were answered (0x0E ESME_RINVPASWD checked,
                  0x0D ESME_RBINDFAIL refused unchecked), a wave of 50
                  concurrent wrong binds from one address, and whether a
                  correct bind still works.
  unbound-flood   5,000 TCP connections that never bind (from 100 source
                  addresses, then all from the customer's own address
                  127.0.0.1); a customer then binds with the right password
                  (10 s limit): its answer and time, and how many of the
                  5,000 the server closed.
  stuck-receiver  account `slow` binds a receiver that never reads (small
                  SO_RCVBUF) and submits 2,000 messages with receipts while
                  account `fast` submits 5,000 through a transceiver that
                  answers every deliver_sm at once: the latency of fast's
                  receipts after the simulator's 0.5 s, per-second arrivals.
                  Then two controls on fresh servers: the same load with
                  slow's receiver reading, and fast alone.

Every line of output is `[scenario] measurement: value`. The exit code is 1
if a scenario could not run (server did not start, an exception), 0
otherwise: findings (a customer refused, late receipts) are printed, not
turned into failures. Python 3 standard library only; Linux (127/8 on lo,
/proc).
"""

import argparse
import asyncio
import collections
import fcntl
import json
import os
import re
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import time
import traceback

HOST = "127.0.0.1"

# --- SMPP 3.4: the few PDUs we need -----------------------------------------

GENERIC_NACK = 0x80000000
BIND_RECEIVER = 0x00000001
BIND_TRANSMITTER = 0x00000002
SUBMIT_SM = 0x00000004
DELIVER_SM = 0x00000005
UNBIND = 0x00000006
BIND_TRANSCEIVER = 0x00000009
ENQUIRE_LINK = 0x00000015
RESP = 0x80000000

ESME_ROK = 0x00
ESME_RBINDFAIL = 0x0D
ESME_RINVPASWD = 0x0E
ESME_RINVCMDID = 0x03

STATUS_NAMES = {
    0x00: "ESME_ROK",
    0x03: "ESME_RINVCMDID",
    0x05: "ESME_RALYBND",
    0x08: "ESME_RSYSERR",
    0x0D: "ESME_RBINDFAIL",
    0x0E: "ESME_RINVPASWD",
    0x0F: "ESME_RINVSYSID",
    0x14: "ESME_RMSGQFUL",
    0x45: "ESME_RSUBMITFAIL",
    0x58: "ESME_RTHROTTLED",
}

TLV_RECEIPTED_MESSAGE_ID = 0x001E
TLV_MESSAGE_STATE = 0x0427
TLV_MESSAGE_PAYLOAD = 0x0424

MAX_PDU = 1 << 20


def status_name(status):
    if isinstance(status, str):
        return status
    return "0x%02X %s" % (status, STATUS_NAMES.get(status, ""))


def cstr(text):
    return text.encode("latin-1") + b"\0"


def encode_pdu(command_id, seq, body=b"", status=0):
    return struct.pack(">IIII", 16 + len(body), command_id, status, seq) + body


def bind_body(system_id, password):
    # system_id, password, system_type, interface_version, addr_ton,
    # addr_npi, address_range
    return cstr(system_id) + cstr(password) + cstr("") + bytes([0x34, 0, 0]) + cstr("")


def submit_sm_body(source, destination, text, registered_delivery):
    short_message = text.encode("ascii")
    return (
        cstr("")  # service_type
        + bytes([5, 0])  # source TON alphanumeric, NPI unknown
        + cstr(source)
        + bytes([1, 1])  # destination TON international, NPI ISDN
        + cstr(destination)
        + bytes([0, 0, 0])  # esm_class, protocol_id, priority_flag
        + cstr("")  # schedule_delivery_time
        + cstr("")  # validity_period
        + bytes([registered_delivery, 0, 0, 0, len(short_message)])
        # registered_delivery, replace_if_present, data_coding,
        # sm_default_msg_id, sm_length
        + short_message
    )


def read_cstr(data, offset):
    end = data.index(b"\0", offset)
    return data[offset:end], end + 1


def parse_submit_resp(body):
    if not body:
        return ""
    try:
        value, _ = read_cstr(body, 0)
    except ValueError:
        value = body
    return value.decode("latin-1")


def parse_deliver_sm(body):
    """The fields of a deliver_sm we use: esm_class, short_message, TLVs."""
    off = 0
    _, off = read_cstr(body, off)  # service_type
    off += 2
    _, off = read_cstr(body, off)  # source_addr
    off += 2
    _, off = read_cstr(body, off)  # destination_addr
    esm_class = body[off]
    off += 3  # esm_class, protocol_id, priority_flag
    _, off = read_cstr(body, off)  # schedule_delivery_time
    _, off = read_cstr(body, off)  # validity_period
    off += 4  # registered_delivery, replace_if_present, data_coding, default id
    sm_length = body[off]
    off += 1
    short_message = body[off:off + sm_length]
    off += sm_length
    tlvs = {}
    while off + 4 <= len(body):
        tag, length = struct.unpack_from(">HH", body, off)
        off += 4
        tlvs[tag] = body[off:off + length]
        off += length
    return {"esm_class": esm_class, "short_message": short_message, "tlvs": tlvs}


RECEIPT_ID = re.compile(rb"id:(\S+)")


def receipt_ids(deliver):
    """The message ids a receipt names: receipted_message_id TLV and the
    `id:` of its text (either may be absent)."""
    ids = []
    tlv = deliver["tlvs"].get(TLV_RECEIPTED_MESSAGE_ID)
    if tlv is not None:
        ids.append(tlv.rstrip(b"\0").decode("latin-1"))
    text = deliver["short_message"] or deliver["tlvs"].get(TLV_MESSAGE_PAYLOAD, b"")
    match = RECEIPT_ID.search(text)
    if match:
        ids.append(match.group(1).decode("latin-1"))
    return ids


async def read_pdu(reader):
    header = await reader.readexactly(16)
    length, command_id, status, seq = struct.unpack(">IIII", header)
    if length < 16 or length > MAX_PDU:
        raise ConnectionError("bad PDU length %d" % length)
    body = await reader.readexactly(length - 16) if length > 16 else b""
    return command_id, status, seq, body


class Session:
    """An ESME session: requests matched to responses by sequence number;
    deliver_sm, enquire_link and unbind from the server answered at once."""

    def __init__(self, reader, writer, on_deliver=None):
        self.reader = reader
        self.writer = writer
        self.on_deliver = on_deliver
        self.seq = 0
        self.pending = {}
        self.close_reason = None
        self.closed = asyncio.Event()
        self.delivered = 0
        self.task = asyncio.ensure_future(self._read_loop())

    def _send(self, data):
        if not self.writer.is_closing():
            self.writer.write(data)

    async def _read_loop(self):
        try:
            while True:
                command_id, status, seq, body = await read_pdu(self.reader)
                now = time.monotonic()
                if command_id & RESP:
                    future = self.pending.pop(seq, None)
                    if future is not None and not future.done():
                        future.set_result((command_id, status, body, now))
                elif command_id == DELIVER_SM:
                    self._send(encode_pdu(DELIVER_SM | RESP, seq, b"\0"))
                    self.delivered += 1
                    if self.on_deliver is not None:
                        self.on_deliver(body, now)
                elif command_id == ENQUIRE_LINK:
                    self._send(encode_pdu(ENQUIRE_LINK | RESP, seq))
                elif command_id == UNBIND:
                    self._send(encode_pdu(UNBIND | RESP, seq))
                    self.close_reason = "unbound by the server"
                    break
                else:
                    self._send(encode_pdu(GENERIC_NACK, seq, status=ESME_RINVCMDID))
        except asyncio.IncompleteReadError:
            self.close_reason = self.close_reason or "closed by the server"
        except (ConnectionError, OSError) as e:
            self.close_reason = self.close_reason or "connection error: %s" % e
        except asyncio.CancelledError:
            self.close_reason = self.close_reason or "closed by us"
        finally:
            self.closed.set()
            for future in self.pending.values():
                if not future.done():
                    future.set_exception(ConnectionError(self.close_reason or "closed"))
            self.pending.clear()

    async def request(self, command_id, body=b"", timeout=30.0):
        """Sends a request; returns (status, body, answered_at)."""
        if self.closed.is_set():
            raise ConnectionError(self.close_reason or "closed")
        self.seq += 1
        seq = self.seq
        future = asyncio.get_running_loop().create_future()
        self.pending[seq] = future
        self._send(encode_pdu(command_id, seq, body))
        try:
            await asyncio.wait_for(self.writer.drain(), timeout)
            _, status, body, at = await asyncio.wait_for(future, timeout)
        finally:
            self.pending.pop(seq, None)
        return status, body, at

    async def close(self, unbind=True):
        if unbind and not self.closed.is_set():
            try:
                await self.request(UNBIND, timeout=3.0)
            except (asyncio.TimeoutError, ConnectionError, OSError):
                pass
        self.task.cancel()
        try:
            await self.task
        except BaseException:
            pass
        self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), 2.0)
        except BaseException:
            pass


async def tcp_connect(port, source=None, rcvbuf=None, timeout=10.0):
    """A connected non-blocking socket to 127.0.0.1:port, from `source`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if source is not None:
            sock.bind((source, 0))
        await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, (HOST, port)), timeout)
        return sock
    except BaseException:
        sock.close()
        raise


async def sock_read_pdu(sock, timeout):
    """One PDU from a raw socket (for short-lived bind attempts)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    data = b""

    async def need(n):
        nonlocal data
        while len(data) < n:
            left = deadline - loop.time()
            if left <= 0:
                raise asyncio.TimeoutError()
            chunk = await asyncio.wait_for(loop.sock_recv(sock, 65536), left)
            if not chunk:
                raise ConnectionError("closed by the server")
            data += chunk

    await need(16)
    length, command_id, status, seq = struct.unpack(">IIII", data[:16])
    if length < 16 or length > MAX_PDU:
        raise ConnectionError("bad PDU length %d" % length)
    await need(length)
    return command_id, status, seq, data[16:length]


async def raw_bind(sock, command_id, system_id, password, timeout):
    """Sends one bind on a raw socket: its bind_resp status, or a string
    saying why there was none (timeout, closed, reset, nack)."""
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(
            loop.sock_sendall(sock, encode_pdu(command_id, 1, bind_body(system_id, password))),
            timeout,
        )
        resp_id, status, _, _ = await sock_read_pdu(sock, timeout)
    except asyncio.TimeoutError:
        return "no answer (timeout)"
    except ConnectionResetError:
        return "reset by the server"
    except (ConnectionError, OSError) as e:
        return str(e) or type(e).__name__
    if resp_id == GENERIC_NACK:
        return "generic_nack %s" % status_name(status)
    if resp_id != command_id | RESP:
        return "unexpected PDU 0x%08X" % resp_id
    return status


async def open_session(port, system_id, password, command_id=BIND_TRANSCEIVER,
                       source=None, on_deliver=None, timeout=10.0):
    """Connects and binds; returns (session or None, status, seconds)."""
    started = time.monotonic()
    sock = await tcp_connect(port, source=source, timeout=timeout)
    reader, writer = await asyncio.open_connection(sock=sock, limit=MAX_PDU)
    session = Session(reader, writer, on_deliver=on_deliver)
    try:
        status, _, at = await session.request(command_id, bind_body(system_id, password), timeout)
    except asyncio.TimeoutError:
        await session.close(unbind=False)
        return None, "no answer within %.0f s" % timeout, time.monotonic() - started
    except (ConnectionError, OSError) as e:
        await session.close(unbind=False)
        return None, "connection lost: %s" % e, time.monotonic() - started
    if status != ESME_ROK:
        await session.close(unbind=False)
        return None, status, at - started
    return session, status, at - started


def socket_state(sock):
    """'open', 'closed' (EOF) or 'reset' for a raw socket, without waiting."""
    try:
        data = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return "open"
    except ConnectionResetError:
        return "reset"
    except OSError:
        return "reset"
    return "open (sent data)" if data else "closed"


def pending_bytes(sock):
    """Bytes waiting unread in a socket's receive queue (FIONREAD)."""
    try:
        buf = fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0")
        return struct.unpack("i", buf)[0]
    except OSError:
        return -1


# --- the gateway process -----------------------------------------------------


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Gateway:
    """One `smsgate serve` in its own temporary data directory."""

    def __init__(self, binary, label, keep=False, extra_config=""):
        self.binary = binary
        self.label = label
        self.keep = keep
        self.dir = tempfile.mkdtemp(prefix="smsgate-reliability-%s-" % label)
        self.data_dir = os.path.join(self.dir, "data")
        self.port = free_port()
        self.config = os.path.join(self.dir, "smsgate.toml")
        with open(self.config, "w") as f:
            f.write(
                "[smpp]\nlisten = [\"%s:%d\"]\ntls = false\n"
                "[http]\nlisten = [\"127.0.0.1:0\"]\n%s" % (HOST, self.port, extra_config)
            )
        self.stdout_path = os.path.join(self.dir, "stdout.log")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.process = None

    def cli(self, *args):
        return subprocess.run(
            [self.binary, "--data-dir", self.data_dir, *args],
            capture_output=True, text=True, timeout=60,
        )

    def add_account(self, name, password, credits, *extra):
        out = self.cli("account", "add", name, "--password", password,
                       "--credits", str(credits), *extra)
        if out.returncode != 0:
            raise RuntimeError("account add %s failed: %s" % (name, out.stderr.strip()))

    def start(self, timeout=60.0):
        self.stdout = open(self.stdout_path, "wb")
        self.stderr = open(self.stderr_path, "wb")
        self.process = subprocess.Popen(
            [self.binary, "--data-dir", self.data_dir, "serve", "--no-demo",
             "--config", self.config],
            stdout=self.stdout, stderr=self.stderr, stdin=subprocess.DEVNULL,
            start_new_session=True, env=dict(os.environ, NO_COLOR="1"),
        )
        # Ready when it prints its SMPP address (connecting to probe would
        # itself be an unbound connection).
        want = ("SMPP on %s:%d" % (HOST, self.port)).encode()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("smsgate serve exited with %s at start:\n%s"
                                   % (self.process.returncode, self.log_tail(20)))
            with open(self.stdout_path, "rb") as f:
                if want in f.read():
                    return
            time.sleep(0.05)
        raise RuntimeError("smsgate serve did not report %s within %.0f s:\n%s"
                           % (want.decode(), timeout, self.log_tail(20)))

    @property
    def pid(self):
        return self.process.pid

    def rss_kb(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return -1

    def open_fds(self):
        try:
            return len(os.listdir("/proc/%d/fd" % self.pid))
        except OSError:
            return -1

    def nofile_limit(self):
        try:
            with open("/proc/%d/limits" % self.pid) as f:
                for line in f:
                    if line.startswith("Max open files"):
                        return line.split()[3]
        except OSError:
            pass
        return "?"

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def log_lines(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return []

    def log_tail(self, n):
        return "\n".join(self.log_lines()[-n:])

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        for f in (getattr(self, "stdout", None), getattr(self, "stderr", None)):
            if f is not None:
                f.close()

    def cleanup(self):
        if self.keep:
            print("[%s] kept: %s" % (self.label, self.dir))
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


ANSI = re.compile(r"\x1b\[[0-9;]*m")
TIMESTAMP = re.compile(r"^\S+\s+")
FIELD = re.compile(r"\b(message_id|session|remote|ip|addr|address|path|password_file)=\S+")
NUMBER = re.compile(r"\b\d+(\.\d+)*(ms|s|µs)?\b")


def fold(line):
    """A log line without its timestamp, ids, addresses and numbers."""
    line = TIMESTAMP.sub("", ANSI.sub("", line), count=1)
    return NUMBER.sub("#", FIELD.sub(lambda m: m.group(1) + "=*", line))[:200]


def log_summary(gateway, out):
    """The server's WARN/ERROR lines, and its most frequent INFO lines,
    counted with ids and numbers folded."""
    counts = {"bad": collections.Counter(), "INFO": collections.Counter()}
    example = {}
    for line in gateway.log_lines():
        line = ANSI.sub("", line)
        if " WARN " in line or " ERROR " in line:
            kind = "bad"
        elif " INFO " in line:
            kind = "INFO"
        else:
            continue
        key = fold(line)
        counts[kind][key] += 1
        example.setdefault(key, line)
    if not counts["bad"]:
        out("server log: no WARN/ERROR lines")
    for key, n in counts["bad"].most_common(8):
        out("server log: %d x %s" % (n, example[key][:300]))
    for key, n in counts["INFO"].most_common(3):
        if n >= 10:
            out("server log, frequent INFO: %d x %s" % (n, key))


def level_counts(gateway):
    counts = collections.Counter()
    for line in gateway.log_lines():
        line = ANSI.sub("", line)
        for level in ("ERROR", "WARN", "INFO", "DEBUG"):
            if (" %s " % level) in line:
                counts[level] += 1
                break
    return dict(counts)


def mb(kb):
    return kb / 1024.0


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[index]


# --- scenario 1: failed binds --------------------------------------------------

ACCOUNT = "acme"
PASSWORD = "secret1"  # SMPP 3.4: at most 8 octets
WRONG = "wrong99"


async def one_bind(port, source, password, timeout=30.0):
    try:
        sock = await tcp_connect(port, source=source, timeout=10.0)
    except (OSError, asyncio.TimeoutError) as e:
        return "connect failed: %s" % (str(e) or type(e).__name__)
    try:
        return await raw_bind(sock, BIND_TRANSCEIVER, ACCOUNT, password, timeout)
    finally:
        sock.close()


async def good_bind(port, source):
    """A correct transceiver bind, unbound again: (status, seconds)."""
    try:
        session, status, took = await open_session(port, ACCOUNT, PASSWORD, source=source)
    except (OSError, asyncio.TimeoutError) as e:
        return "connect failed: %s" % (str(e) or type(e).__name__), 0.0
    if session is not None:
        await session.close()
    return status, took


def format_counts(counter):
    return ", ".join("%s: %d" % (status_name(k), v) for k, v in
                     sorted(counter.items(), key=lambda kv: (isinstance(kv[0], str), str(kv[0]))))


async def scenario_failed_binds(binary, out, keep):
    gateway = Gateway(binary, "failed-binds", keep)
    try:
        gateway.add_account(ACCOUNT, PASSWORD, 1000)
        gateway.start()
        out("server pid %d, port %d" % (gateway.pid, gateway.port))
        await asyncio.sleep(1.0)
        out("RSS after start: %.1f MB" % mb(gateway.rss_kb()))
        status, took = await good_bind(gateway.port, "127.0.0.1")
        out("good bind before (127.0.0.1): %s in %.0f ms" % (status_name(status), took * 1000))
        await asyncio.sleep(1.0)
        baseline = gateway.rss_kb()
        out("RSS baseline (after one good bind): %.1f MB" % mb(baseline))

        # 1,000 wrong binds: 200 addresses x 5, 40 addresses at a time, each
        # address's five one after the other.
        hosts = ["127.0.0.%d" % h for h in range(2, 202)]
        per_host = 5
        counts = collections.Counter()
        latencies = []
        gate = asyncio.Semaphore(40)

        async def from_host(host):
            async with gate:
                for _ in range(per_host):
                    t = time.monotonic()
                    result = await one_bind(gateway.port, host, WRONG)
                    latencies.append(time.monotonic() - t)
                    counts[result] += 1

        started = time.monotonic()
        await asyncio.gather(*(from_host(h) for h in hosts))
        wall = time.monotonic() - started
        out("wrong-password binds: %d from %d addresses (127.0.0.2-127.0.0.201), %d each, 40 addresses at a time"
            % (sum(counts.values()), len(hosts), per_host))
        out("wrong-password binds answered: %s" % format_counts(counts))
        out("wrong-password binds wall time: %.2f s (%.0f binds/s)" % (wall, sum(counts.values()) / wall))
        latencies.sort()
        out("wrong-password bind answer time: p50 %.0f ms, p99 %.0f ms, max %.0f ms"
            % (percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000, latencies[-1] * 1000))
        await asyncio.sleep(2.0)
        after = gateway.rss_kb()
        out("RSS after (2 s later): %.1f MB" % mb(after))
        out("RSS delta: %+.1f MB" % mb(after - baseline))
        out("server open fds after: %d" % gateway.open_fds())

        # A wave of 50 at once from one (fresh) address.
        wave_host = "127.0.0.250"
        socks = []
        for _ in range(50):
            try:
                socks.append(await tcp_connect(gateway.port, source=wave_host))
            except (OSError, asyncio.TimeoutError) as e:
                out("wave: connect failed: %s" % e)
        started = time.monotonic()
        results = await asyncio.gather(*(raw_bind(s, BIND_TRANSCEIVER, ACCOUNT, WRONG, 30.0) for s in socks))
        wave_wall = time.monotonic() - started
        for s in socks:
            s.close()
        wave = collections.Counter(results)
        out("wave of %d concurrent wrong binds from %s: %s" % (len(socks), wave_host, format_counts(wave)))
        out("wave: %d got 0x0E (password checked), %d got 0x0D (refused unchecked), %d other; %.2f s"
            % (wave[ESME_RINVPASWD], wave[ESME_RBINDFAIL],
               len(results) - wave[ESME_RINVPASWD] - wave[ESME_RBINDFAIL], wave_wall))
        await asyncio.sleep(2.0)
        out("RSS after the wave: %.1f MB (delta from baseline %+.1f MB)"
            % (mb(gateway.rss_kb()), mb(gateway.rss_kb() - baseline)))

        status, took = await good_bind(gateway.port, "127.0.0.1")
        out("correct bind from 127.0.0.1 after all this: %s in %.0f ms" % (status_name(status), took * 1000))
        status, took = await good_bind(gateway.port, "127.0.0.2")
        out("correct bind from a blocked address (127.0.0.2): %s in %.0f ms" % (status_name(status), took * 1000))
        out("server alive at the end: %s" % gateway.alive())
        out("server log lines by level: %s" % level_counts(gateway))
        log_summary(gateway, out)
    finally:
        gateway.stop()
        gateway.cleanup()


# --- scenario 2: unbound flood -------------------------------------------------


def raise_nofile(want=12_000):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = max(soft, want)
    if hard != resource.RLIM_INFINITY and hard < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, target))
            return resource.getrlimit(resource.RLIMIT_NOFILE)
        except (ValueError, OSError):
            target = hard
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)


async def open_idle(port, sources, per_source, concurrency=200):
    """per_source connections from each of sources, none of which ever
    sends a byte. Returns (sockets, connect failures)."""
    gate = asyncio.Semaphore(concurrency)
    socks = []
    failures = collections.Counter()

    async def one(source):
        async with gate:
            try:
                socks.append(await tcp_connect(port, source=source, timeout=10.0))
            except (OSError, asyncio.TimeoutError) as e:
                failures[type(e).__name__ + (": %s" % e if str(e) else "")] += 1

    await asyncio.gather(*(one(s) for s in sources for _ in range(per_source)))
    return socks, failures


def count_states(socks):
    return collections.Counter(socket_state(s) for s in socks)


async def flood_variant(binary, out, keep, variant, sources, per_source):
    gateway = Gateway(binary, "unbound-flood", keep)
    socks = []
    try:
        gateway.add_account(ACCOUNT, PASSWORD, 1000)
        gateway.start()
        await asyncio.sleep(0.5)
        rss_before = gateway.rss_kb()
        out("%s: server pid %d, its open-files limit %s, RSS %.1f MB"
            % (variant, gateway.pid, gateway.nofile_limit(), mb(rss_before)))
        started = time.monotonic()
        socks, failures = await open_idle(gateway.port, sources, per_source)
        took = time.monotonic() - started
        out("%s: opened %d idle connections (never bind) in %.2f s%s"
            % (variant, len(socks), took,
               "; connect failures: %s" % dict(failures) if failures else ""))
        await asyncio.sleep(1.0)
        states = count_states(socks)
        rss = gateway.rss_kb()
        out("%s: before the customer (1 s after): still open %d, closed by the server %d (of which reset %d); "
            "server fds %d, RSS %.1f MB (%+.1f MB)"
            % (variant, states["open"] + states["open (sent data)"],
               states["closed"] + states["reset"], states["reset"],
               gateway.open_fds(), mb(rss), mb(rss - rss_before)))

        # The customer, from 127.0.0.1, with the right password: 10 s at most.
        t = time.monotonic()
        try:
            session, status, bind_took = await asyncio.wait_for(
                open_session(gateway.port, ACCOUNT, PASSWORD, source="127.0.0.1", timeout=10.0), 10.0)
        except asyncio.TimeoutError:
            session, status, bind_took = None, "no connect+bind within 10 s", time.monotonic() - t
        except OSError as e:
            session, status, bind_took = None, "connect failed: %s" % e, time.monotonic() - t
        ok = status == ESME_ROK
        out("%s: customer connect + bind from 127.0.0.1: %s (%s) in %.0f ms"
            % (variant, "OK" if ok else "FAILED", status_name(status), bind_took * 1000))
        if session is not None:
            try:
                status, _, _ = await session.request(ENQUIRE_LINK, timeout=5.0)
                out("%s: customer enquire_link after bind: %s" % (variant, status_name(status)))
            except (asyncio.TimeoutError, ConnectionError, OSError) as e:
                out("%s: customer enquire_link after bind: failed (%s)" % (variant, str(e) or type(e).__name__))
        await asyncio.sleep(0.5)
        states = count_states(socks)
        out("%s: after the customer: still open %d, closed by the server %d of %d (of which reset %d)"
            % (variant, states["open"] + states["open (sent data)"],
               states["closed"] + states["reset"], len(socks), states["reset"]))
        if states["open (sent data)"]:
            out("%s: %d idle connections received data from the server" % (variant, states["open (sent data)"]))
        if session is not None:
            await session.close()
        out("%s: server alive at the end: %s; log lines by level: %s"
            % (variant, gateway.alive(), level_counts(gateway)))
        log_summary(gateway, lambda line: out("%s: %s" % (variant, line)))
        return ok
    finally:
        for s in socks:
            s.close()
        gateway.stop()
        gateway.cleanup()


async def scenario_unbound_flood(binary, out, keep):
    soft, hard = raise_nofile(12_000)
    out("script open-files limit: soft %s, hard %s (servers inherit it)" % (soft, hard))
    if soft < 11_000:
        raise RuntimeError("cannot raise RLIMIT_NOFILE to 12,000 (soft %d, hard %d)" % (soft, hard))
    out("variant A: 5,000 idle connections from 127.0.0.2-127.0.0.101 (50 each), customer from 127.0.0.1")
    await flood_variant(binary, out, keep, "A", ["127.0.0.%d" % h for h in range(2, 102)], 50)
    out("variant B: 5,000 idle connections all from 127.0.0.1, the customer's own address")
    await flood_variant(binary, out, keep, "B", ["127.0.0.1"], 5000)


# --- scenario 3: stuck receiver ------------------------------------------------

SIM_DELAY = 0.5
DESTINATION = "447911123456"


async def submit_many(session, count, window, prefix, records, deadline):
    """count submit_sm with registered_delivery=1, at most `window`
    unanswered. records[i] = (sent, answered, status, message_id)."""
    gate = asyncio.Semaphore(window)
    tasks = []

    async def one(i):
        try:
            sent = time.monotonic()
            left = max(1.0, deadline - sent)
            try:
                status, body, at = await session.request(
                    SUBMIT_SM, submit_sm_body("Acme", DESTINATION, "%s %d" % (prefix, i), 1),
                    timeout=min(30.0, left))
                records[i] = (sent, at, status, parse_submit_resp(body) if status == ESME_ROK else None)
            except asyncio.TimeoutError:
                records[i] = (sent, None, "no answer (timeout)", None)
            except (ConnectionError, OSError) as e:
                records[i] = (sent, None, "connection lost: %s" % e, None)
        finally:
            gate.release()

    for i in range(count):
        await gate.acquire()
        if session.closed.is_set() or time.monotonic() > deadline:
            gate.release()
            records[i] = (time.monotonic(), None, "not sent (session closed or deadline)", None)
            continue
        tasks.append(asyncio.ensure_future(one(i)))
    if tasks:
        await asyncio.gather(*tasks)


def message_story(gateway, message_id):
    """A message's state and trace, from `smsgate message show --json`."""
    try:
        shown = gateway.cli("message", "show", message_id, "--json")
        if shown.returncode != 0:
            return "message show failed: %s" % shown.stderr.strip()[:200]
        message = json.loads(shown.stdout)
    except (OSError, ValueError, subprocess.SubprocessError) as e:
        return "message show failed: %s" % e
    trace = message.get("trace") or []
    steps = []
    for event in trace:
        detail = event.get("detail")
        steps.append("%s%s" % (event.get("kind"), " (%s)" % detail if detail else ""))
    return "state %s; trace: %s" % (message.get("state"), ", ".join(steps)[:600])


async def loop_lag(samples, stop):
    """How late a 10 ms sleep of this script's event loop wakes: the
    client's own share of any measured latency."""
    while not stop.is_set():
        t = time.monotonic()
        await asyncio.sleep(0.01)
        samples.append(time.monotonic() - t - 0.01)


async def stuck_run(binary, out, keep, slow_mode):
    """slow_mode: "stuck" (slow's receiver never reads), "reading" (the
    same load, slow's receiver answers like fast) or None (fast alone)."""
    window = 10  # the CLI's default (`smsgate account add --help`), passed explicitly
    slow_count, fast_count = 2000, 5000
    gateway = Gateway(binary, "stuck-receiver", keep)
    sessions = []
    slow_rx = None
    stop_lag = asyncio.Event()
    lag = []
    lag_task = None
    try:
        gateway.add_account("slow", "slowpw", 100_000, "--window", str(window))
        gateway.add_account("fast", "fastpw", 100_000, "--window", str(window))
        gateway.start()
        await asyncio.sleep(0.5)
        out("server pid %d, port %d; window %d per session for both accounts" % (gateway.pid, gateway.port, window))
        overall = time.monotonic() + 120.0

        slow_tx = None
        slow_reader = None
        if slow_mode == "stuck":
            # slow's receiver: small receive buffer, bound, then never read.
            slow_rx = await tcp_connect(gateway.port, rcvbuf=4096)
            status = await raw_bind(slow_rx, BIND_RECEIVER, "slow", "slowpw", 10.0)
            out("slow receiver bind (SO_RCVBUF %d, never read after bind_resp): %s"
                % (slow_rx.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF), status_name(status)))
        elif slow_mode == "reading":
            slow_reader, status, _ = await open_session(gateway.port, "slow", "slowpw", BIND_RECEIVER)
            out("slow receiver bind (reads and answers every deliver_sm): %s" % status_name(status))
            if slow_reader is not None:
                sessions.append(slow_reader)
        if slow_mode is not None:
            slow_tx, status, _ = await open_session(gateway.port, "slow", "slowpw", BIND_TRANSMITTER)
            out("slow transmitter bind: %s" % status_name(status))
            if slow_tx is not None:
                sessions.append(slow_tx)

        receipts = {}  # message id -> first arrival
        duplicates = [0]
        unparsed = [0]
        arrivals = []

        def on_deliver(body, at):
            try:
                deliver = parse_deliver_sm(body)
            except (ValueError, IndexError):
                unparsed[0] += 1
                return
            ids = receipt_ids(deliver)
            if not ids:
                unparsed[0] += 1
                return
            arrivals.append(at)
            ids = list(dict.fromkeys(ids))
            if any(message_id in receipts for message_id in ids):
                duplicates[0] += 1
                return
            # Every id the receipt names, in case the TLV and the text
            # differ in form.
            for message_id in ids:
                receipts[message_id] = at

        fast, status, _ = await open_session(gateway.port, "fast", "fastpw", BIND_TRANSCEIVER,
                                             on_deliver=on_deliver)
        out("fast transceiver bind: %s" % status_name(status))
        if fast is None:
            raise RuntimeError("fast could not bind: %s" % status_name(status))
        sessions.append(fast)

        lag_task = asyncio.ensure_future(loop_lag(lag, stop_lag))
        slow_records, fast_records = {}, {}
        t0 = time.monotonic()
        jobs = [submit_many(fast, fast_count, window, "fast", fast_records, overall)]
        if slow_tx is not None:
            jobs.append(submit_many(slow_tx, slow_count, window, "slow", slow_records, overall))
        await asyncio.gather(*jobs)
        submit_wall = time.monotonic() - t0

        def summarize(records):
            return collections.Counter(r[2] for r in records.values())

        fast_ok = {i: r for i, r in fast_records.items() if r[2] == ESME_ROK}
        if slow_mode is not None:
            out("slow submits answered: %s (of %d)" % (format_counts(summarize(slow_records)), slow_count))
        out("fast submits answered: %s (of %d) in %.2f s (%.0f/s)"
            % (format_counts(summarize(fast_records)), fast_count, submit_wall, len(fast_ok) / submit_wall))

        # Wait for fast's receipts (until all are in, or the 120 s are up).
        expected_ids = {r[3] for r in fast_ok.values()}
        while time.monotonic() < overall:
            if expected_ids <= receipts.keys() or fast.closed.is_set():
                break
            await asyncio.sleep(0.1)
        waited = time.monotonic() - t0
        stop_lag.set()

        latencies = []
        by_second = collections.defaultdict(list)
        late = 0
        for sent, answered, _, message_id in fast_ok.values():
            at = receipts.get(message_id)
            if at is None:
                continue
            latency = at - answered - SIM_DELAY
            latencies.append(latency)
            by_second[int(answered - t0)].append(latency)
            if latency > 1.0:
                late += 1
        latencies.sort()
        received = len(latencies)
        out("fast receipts received / expected: %d / %d (after %.1f s; %d duplicates, %d unparsed, "
            "%d deliver_sm in all)" % (received, len(fast_ok), waited, duplicates[0], unparsed[0], fast.delivered))
        if fast.closed.is_set():
            out("fast session closed early: %s" % fast.close_reason)
        if latencies:
            out("fast receipt latency after the %.1f s simulator delay (from submit_sm_resp): "
                "p50 %.0f ms, p99 %.0f ms, max %.0f ms"
                % (SIM_DELAY, percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000,
                   latencies[-1] * 1000))
            out("fast receipt latency p50/max by second of submit_sm_resp: %s"
                % " ".join("%d:%.0f/%.0fms" % (sec, percentile(sorted(v), 0.5) * 1000, max(v) * 1000)
                           for sec, v in sorted(by_second.items())))
        per_second = collections.Counter(int(at - t0) for at in arrivals)
        if per_second:
            last = max(per_second)
            out("fast receipts per second (s since first submit): %s"
                % " ".join("%d:%d" % (sec, per_second.get(sec, 0)) for sec in range(0, last + 1)))
        missing = len(fast_ok) - received
        if missing:
            lost = [r[3] for r in fast_ok.values() if r[3] not in receipts]
            for message_id in lost[:5]:
                out("missing receipt for %s: %s" % (message_id, message_story(gateway, message_id)))
        all_in_time = received == len(fast_ok) and late == 0 and received > 0
        out("fast: all receipts within 1 s of submit_sm_resp + %.1f s: %s (%d late, %d missing)"
            % (SIM_DELAY, "YES" if all_in_time else "NO", late, missing))
        if lag:
            lag.sort()
            out("this script's event-loop lag meanwhile (client-side share of latency): p50 %.1f ms, "
                "p99 %.1f ms, max %.1f ms"
                % (percentile(lag, 0.5) * 1000, percentile(lag, 0.99) * 1000, lag[-1] * 1000))
        if slow_rx is not None:
            out("slow receiver at the end: %s, %d bytes unread in its socket"
                % (socket_state(slow_rx), pending_bytes(slow_rx)))
        if slow_reader is not None:
            out("slow receiver (reading) got %d deliver_sm by the end" % slow_reader.delivered)
        out("server alive at the end: %s; log lines by level: %s" % (gateway.alive(), level_counts(gateway)))
        log_summary(gateway, out)
    finally:
        stop_lag.set()
        if lag_task is not None:
            lag_task.cancel()
        for session in sessions:
            try:
                await asyncio.wait_for(session.close(), 5.0)
            except BaseException:
                pass
        if slow_rx is not None:
            slow_rx.close()
        gateway.stop()
        gateway.cleanup()


async def scenario_stuck_receiver(binary, out, keep):
    await stuck_run(binary, lambda line: out("stuck slow: " + line), keep, "stuck")
    # Controls, each on a fresh server: the same load with slow's receiver
    # reading (what the stuck one costs fast), and fast alone.
    await stuck_run(binary, lambda line: out("control, slow reading: " + line), keep, "reading")
    await stuck_run(binary, lambda line: out("control, fast alone: " + line), keep, None)


# --- main ----------------------------------------------------------------------

SCENARIOS = {
    "failed-binds": (scenario_failed_binds, 300),
    "unbound-flood": (scenario_unbound_flood, 300),
    "stuck-receiver": (scenario_stuck_receiver, 300),
}


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default=os.path.join(root, "target", "release", "smsgate"),
                        help="the smsgate binary [target/release/smsgate]")
    parser.add_argument("--keep", action="store_true",
                        help="keep each scenario's temporary directory (config, data, server logs)")
    parser.add_argument("scenarios", nargs="*", metavar="scenario",
                        help="%s (default: all)" % ", ".join(SCENARIOS))
    args = parser.parse_args()
    chosen = args.scenarios or list(SCENARIOS)
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown:
        parser.error("unknown scenario(s): %s; choose from %s" % (", ".join(unknown), ", ".join(SCENARIOS)))
    binary = os.path.abspath(args.bin)
    if not os.access(binary, os.X_OK):
        print("no executable at %s (build it: cargo build --release -p smsgate)" % binary, file=sys.stderr)
        return 2

    failed = []
    for name in chosen:
        scenario, limit = SCENARIOS[name]

        def out(line, name=name):
            print("[%s] %s" % (name, line), flush=True)

        started = time.monotonic()
        try:
            asyncio.run(asyncio.wait_for(scenario(binary, out, args.keep), limit))
            out("done in %.1f s" % (time.monotonic() - started))
        except asyncio.TimeoutError:
            out("COULD NOT RUN: did not finish within %d s" % limit)
            failed.append(name)
        except Exception as e:  # report and go on with the next scenario
            lines = str(e).splitlines() or [""]
            out("COULD NOT RUN: %s: %s" % (type(e).__name__, lines[0]))
            for line in lines[1:]:
                out("  " + line)
            if not isinstance(e, RuntimeError):  # ours say why; others get their traceback
                for line in traceback.format_exc().rstrip().splitlines():
                    out("  " + line)
            failed.append(name)
    if failed:
        print("scenarios that could not run: %s" % ", ".join(failed), flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
