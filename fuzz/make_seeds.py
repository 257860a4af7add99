#!/usr/bin/env python3
"""Writes the seed corpus of transfer_fuzz into fuzz/corpus/transfer/.

Each seed is two knob bytes (see `knobs` in transfer_fuzz.cpp) and what the
server sends. Rerun after changing the input format:
    python3 fuzz/make_seeds.py
"""
import gzip
import os
import struct

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "transfer")

# Byte 0: bits 0-1 method (GET HEAD POST PUT), 2 decompress, 3 follow,
# 4-5 version (1.1, any, h2c upgrade, h2 prior knowledge), 6 refuse reconnect,
# 7 small size cap. Byte 1: bits 0-1 second fetch (none, after, alongside),
# 2-5 interrupt after N handlers, 6 destroy the engine instead of cancelling.
GET, HEAD, POST, PUT = 0, 1, 2, 3
DECOMPRESS, FOLLOW, ANY, H2C, H2PK, REFUSE, SMALL = 4, 8, 0x10, 0x20, 0x30, 0x40, 0x80
AFTER, ALONGSIDE, DESTROY = 1, 2, 0x40


def interrupt(n):
    return (n & 15) << 2


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


hello = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
settings = frame(4, 0, 0) + frame(4, 1, 0)  # the server's SETTINGS, and an ACK of the client's
h2_hello = frame(1, 0x04, 1, b"\x88") + frame(0, 0x01, 1, b"hello")  # :status 200, DATA END_STREAM
gz = gzip.compress(b"hello hello hello", mtime=0)

seeds = {
    "content_length": (GET, 0, hello),
    "content_length_post_any": (POST | DECOMPRESS | ANY, 0, hello),
    "head": (HEAD, 0, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"),
    "chunked": (GET, 0, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n"),
    "close_delimited_1_0": (GET, 0, b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end"),
    "gzip_garbage": (DECOMPRESS, 0, b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
                                    b"Content-Length: 8\r\n\r\nnotgzip!"),
    "gzip_valid": (DECOMPRESS, 0, b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
                                  b"Content-Length: %d\r\n\r\n" % len(gz) + gz),
    "deflate_chunked": (DECOMPRESS, 0, b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\n"
                                       b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
    "continue_then_200": (POST, 0, b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n"
                                   b"Link: </s.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    "redirect_excess": (FOLLOW, 0, b"HTTP/1.1 302 Found\r\nLocation: /y\r\nContent-Length: 0\r\n\r\n" + hello),
    "redirect_other_host": (FOLLOW, 0, b"HTTP/1.1 301 Moved\r\nLocation: http://other.example:8080/z\r\n"
                                       b"Connection: close\r\nContent-Length: 3\r\n\r\nbye"),
    "redirect_refused": (POST | FOLLOW | REFUSE, 0, b"HTTP/1.1 307 Temporary\r\nLocation: http://[::1]/q\r\n"
                                                    b"Connection: close\r\n\r\n"),
    "too_large": (SMALL, 0, b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 100),
    "folded_headers": (GET, 0, b"HTTP/1.1 404 Not Found\r\nX-A: one\r\n  two\r\nSet-Cookie: a=b\r\n"
                               b"Content-Length: 0\r\n\r\n"),
    "h2c_upgrade": (H2C, 0, b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
                            + settings + h2_hello),
    "h2_prior_knowledge": (H2PK, 0, settings + h2_hello),
    "h2_two_streams": (H2PK, ALONGSIDE, settings + h2_hello
                       + frame(1, 0x05, 3, b"\x8d")),  # stream 3: :status 404, END_STREAM
    "second_after": (GET, AFTER, hello),
    "second_alongside": (GET, ALONGSIDE, hello),
    "cancel_early": (GET, interrupt(1), b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel"),
    "cancel_late": (GET | FOLLOW, interrupt(6), b"HTTP/1.1 302 Found\r\nLocation: /y\r\n\r\n"),
    "destroy_engine": (GET, ALONGSIDE | interrupt(2) | DESTROY, hello),
    "garbage": (GET, 0, b"\x00\x01HTTP/9.9 abc\r\n\r\n"),
}

os.makedirs(out, exist_ok=True)
for name in os.listdir(out):
    os.remove(os.path.join(out, name))
for name, (k0, k1, body) in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes([k0, k1]) + body)
print(f"{len(seeds)} seeds in {out}")
