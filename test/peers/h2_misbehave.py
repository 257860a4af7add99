#!/usr/bin/python3
"""An HTTP/2 server over TLS (ALPN h2) that misbehaves on request, for
test/integration/h2_fault_test.cpp. Built on python3-h2's state machine.

    h2_misbehave.py PORT CERT_FILE KEY_FILE

The path selects what a stream gets:

    /ok?size=N     200 with N bytes of the pattern 'a' + i % 26 (default 1 MiB),
                   sent in 16 KiB DATA frames, interleaved with the other streams
    /rst           200, 48 KiB of body, then RST_STREAM(INTERNAL_ERROR); with
                   ?after-sibling it first waits (at most 5 s) until another
                   stream of its connection is open and has sent a few frames,
                   so the reset lands while that sibling is mid-body
    /goaway        200, 48 KiB of body, then GOAWAY(INTERNAL_ERROR) naming
                   this stream as processed, and the connection is closed
    /goaway-graceful
                   200 with 1 MiB; after its first 16 KiB, once another
                   stream of its connection is open (at most 5 s),
                   GOAWAY(NO_ERROR) naming this stream as the last processed:
                   the later stream is refused and dropped, this one is sent
                   in full, then the connection is closed
    /huge-headers  200 with N header fields of 1 KiB each (?count=N, default
                   1024: 1 MiB of headers in HEADERS + CONTINUATION frames)
    /continuation-flood
                   HEADERS without END_HEADERS, then CONTINUATION frames that
                   never end the block (at most 64 MiB, or until the client
                   goes away)
    /close?ms=N    answers nothing: N ms (default 200) after the request's
                   HEADERS the connection is closed (with ?goaway, after a
                   GOAWAY(NO_ERROR) that names no stream as processed),
                   whatever the request body is doing

Every response carries x-connection: the number of the connection it was
sent on, so a test can tell which streams shared one. One thread a
connection; within it, the streams' plans (generators) take turns, one
frame each, so streams interleave as on a real server.
"""

import select
import socket
import ssl
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import hpack
import hyperframe.frame

CHUNK = 16 * 1024


def pattern(offset, size):
    return bytes(97 + (i % 26) for i in range(offset, offset + size))


class connection:
    def __init__(self, sock, number):
        self.sock = sock
        self.number = number
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        self.plans = {}  # stream id -> generator yielding after each frame
        self.closing = False

    def flush(self):
        data = self.h2.data_to_send()
        if data:
            self.sock.sendall(data)

    def headers(self, stream_id, extra=()):
        return [(":status", "200"), ("x-connection", str(self.number))] + list(extra)

    def send_body(self, stream_id, offset, size, end):
        """Yields after each DATA frame; waits while flow control forbids."""
        sent = 0
        while sent < size:
            window = min(self.h2.local_flow_control_window(stream_id),
                         self.h2.max_outbound_frame_size)
            if window <= 0:
                yield
                continue
            n = min(CHUNK, window, size - sent)
            self.h2.send_data(stream_id, pattern(offset + sent, n),
                              end_stream=end and sent + n == size)
            sent += n
            yield

    # ---- the plans ---------------------------------------------------------

    def plan_ok(self, stream_id, query):
        size = int(query.get("size", [1 << 20])[0])
        self.h2.send_headers(stream_id, self.headers(stream_id, [("content-length", str(size))]),
                             end_stream=size == 0)
        yield
        yield from self.send_body(stream_id, 0, size, end=True)

    def plan_rst(self, stream_id, query):
        self.h2.send_headers(stream_id, self.headers(stream_id))
        yield
        yield from self.send_body(stream_id, 0, 3 * CHUNK, end=False)
        if "after-sibling" in query:
            deadline = time.monotonic() + 5
            while len(self.plans) < 2 and time.monotonic() < deadline:
                yield
            for _ in range(4):
                yield  # the sibling's HEADERS and first DATA frames go first
        self.h2.reset_stream(stream_id, h2.errors.ErrorCodes.INTERNAL_ERROR)

    def plan_goaway(self, stream_id, query):
        self.h2.send_headers(stream_id, self.headers(stream_id))
        yield
        yield from self.send_body(stream_id, 0, 3 * CHUNK, end=False)
        self.h2.close_connection(h2.errors.ErrorCodes.INTERNAL_ERROR, last_stream_id=stream_id)
        self.closing = True

    def plan_goaway_graceful(self, stream_id, query):
        size = 1 << 20
        self.h2.send_headers(stream_id, self.headers(stream_id, [("content-length", str(size))]))
        yield
        yield from self.send_body(stream_id, 0, CHUNK, end=False)
        deadline = time.monotonic() + 5
        while len(self.plans) < 2 and time.monotonic() < deadline:
            yield
        # GOAWAY behind the state machine's back (h2 sends nothing after its
        # own): streams up to this one are still served, later ones refused.
        self.flush()
        goaway = hyperframe.frame.GoAwayFrame(0)
        goaway.last_stream_id = stream_id
        goaway.error_code = h2.errors.ErrorCodes.NO_ERROR
        self.sock.sendall(goaway.serialize())
        for later in [s for s in self.plans if s > stream_id]:
            del self.plans[later]
        yield from self.send_body(stream_id, CHUNK, size - CHUNK, end=True)
        self.flush()
        self.closing = True

    def plan_huge_headers(self, stream_id, query):
        count = int(query.get("count", [1024])[0])
        # Values differ, so HPACK cannot shrink them into its dynamic table.
        fields = [("x-huge-%04d" % i, ("%04d" % i) * 256) for i in range(count)]
        self.h2.send_headers(stream_id, self.headers(stream_id, fields))
        yield
        yield from self.send_body(stream_id, 0, 2, end=True)

    def plan_continuation_flood(self, stream_id, query):
        # Raw frames behind the state machine's back: h2 itself never sends
        # an unterminated header block. Literals without indexing leave the
        # peer's HPACK dynamic table as it was.
        encoder = hpack.Encoder()
        block = encoder.encode([hpack.NeverIndexedHeaderTuple(":status", "200")], huffman=False)
        self.flush()
        first = hyperframe.frame.HeadersFrame(stream_id, block)  # no END_HEADERS
        self.sock.sendall(first.serialize())
        field = encoder.encode([hpack.NeverIndexedHeaderTuple("x-flood", "f" * 64)], huffman=False)
        frame = hyperframe.frame.ContinuationFrame(stream_id, field).serialize()
        burst = frame * 256
        sent = 0
        while sent < 64 << 20:
            self.sock.sendall(burst)  # raises once the client has gone
            sent += len(burst)
            yield
        self.closing = True

    def plan_close(self, stream_id, query):
        deadline = time.monotonic() + int(query.get("ms", [200])[0]) / 1000
        while time.monotonic() < deadline:
            time.sleep(0.005)
            yield
        if "goaway" in query:
            self.h2.close_connection(h2.errors.ErrorCodes.NO_ERROR, last_stream_id=0)
        self.closing = True

    # ---- the loop ------------------------------------------------------------

    def start(self, event):
        fields = dict((k.decode() if isinstance(k, bytes) else k,
                       v.decode() if isinstance(v, bytes) else v) for k, v in event.headers)
        url = urlsplit(fields.get(":path", "/"))
        query = parse_qs(url.query, keep_blank_values=True)
        plan = {
            "/ok": self.plan_ok,
            "/rst": self.plan_rst,
            "/goaway": self.plan_goaway,
            "/goaway-graceful": self.plan_goaway_graceful,
            "/huge-headers": self.plan_huge_headers,
            "/continuation-flood": self.plan_continuation_flood,
            "/close": self.plan_close,
        }.get(url.path)
        if plan is None:
            self.h2.send_headers(event.stream_id, [(":status", "404")], end_stream=True)
        else:
            self.plans[event.stream_id] = plan(event.stream_id, query)

    def receive(self, data):
        for event in self.h2.receive_data(data):
            if isinstance(event, h2.events.RequestReceived):
                self.start(event)
            elif isinstance(event, h2.events.StreamReset):
                self.plans.pop(event.stream_id, None)
            elif isinstance(event, h2.events.ConnectionTerminated):
                self.closing = True
            elif isinstance(event, h2.events.DataReceived):
                self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)

    def run(self):
        self.h2.initiate_connection()
        self.flush()
        while not self.closing:
            # Poll while plans have frames to send; block while none has.
            wait = 0 if self.plans else 5
            if self.sock.pending() or select.select([self.sock], [], [], wait)[0]:
                data = self.sock.recv(65536)
                if not data:
                    return
                self.receive(data)
            for stream_id in list(self.plans):
                plan = self.plans.get(stream_id)  # another plan may have dropped it
                if plan is None:
                    continue
                try:
                    next(plan)
                except StopIteration:
                    self.plans.pop(stream_id, None)
                if self.closing:
                    break
            self.flush()
            if self.plans and all(self.h2.local_flow_control_window(s) <= 0 for s in self.plans):
                time.sleep(0.001)  # every plan waits for a WINDOW_UPDATE


def serve(context, client, number):
    try:
        client.settimeout(5)
        sock = context.wrap_socket(client, server_side=True)
    except OSError:
        client.close()  # the test's readiness probe connects and leaves
        return
    try:
        connection(sock, number).run()
        # A lingering close: closing with the client's last frames unread
        # would send a TCP reset, which can destroy what we sent before it.
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(1)
        while sock.recv(65536):
            pass
    except (OSError, h2.exceptions.ProtocolError):
        pass  # the client gave up on us: that is what most cases are for
    finally:
        sock.close()


def main():
    port, cert_file, key_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    context.set_alpn_protocols(["h2"])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    number = 0
    while True:
        client, _ = listener.accept()
        number += 1
        threading.Thread(target=serve, args=(context, client, number), daemon=True).start()


if __name__ == "__main__":
    main()
