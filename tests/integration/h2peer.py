#!/usr/bin/python3
# A scriptable HTTP/2 client for tests/integration/http2_test.cpp, written
# with raw frames (python3-hyperframe, python3-hpack from Debian's
# python3-h2) so it can break the protocol on purpose.
#
#   h2peer.py PORT TLS(0|1) MODE [ARG...]
#
# It prints what the server sent, one event a line, and exits when the
# server closes, sends GOAWAY, or the mode's wait ends:
#   status SID CODE      a response head (its :status)
#   data SID BYTES       body bytes received for a stream (summed, at its end)
#   end SID              END_STREAM from the server
#   rst SID CODE         RST_STREAM from the server
#   goaway LAST CODE     GOAWAY from the server
#   eof                  the server closed the connection
#   settings K=V,...     the server's first SETTINGS
import socket
import ssl
import sys
import time

from hpack import Encoder, Decoder
from hyperframe.frame import (ContinuationFrame, DataFrame, Frame, GoAwayFrame, HeadersFrame, PingFrame,
                              RstStreamFrame, SettingsFrame, WindowUpdateFrame)

PREFACE = b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'


class Peer:
    def __init__(self, port, tls, settings=None):
        s = socket.create_connection(('127.0.0.1', port), timeout=10)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(['h2'])
            s = ctx.wrap_socket(s, server_hostname='a.test')
            if s.selected_alpn_protocol() != 'h2':
                print('alpn', s.selected_alpn_protocol())
                sys.exit(2)
        self.s = s
        self.enc = Encoder()
        self.dec = Decoder()
        self.buf = b''
        self.data = {}
        self.closed = False
        self.goaway = None
        self.seen_settings = False
        sf = SettingsFrame(0)
        for k, v in (settings or {}).items():
            sf.settings[k] = v
        self.send(PREFACE + sf.serialize())

    def send(self, b):
        try:
            self.s.sendall(b)
            return True
        except OSError:
            return False

    def head(self, sid, path='/index.html', method='GET', extra=(), end_stream=True, authority='a.test'):
        h = [(':method', method), (':scheme', 'https'), (':authority', authority), (':path', path)] + list(extra)
        f = HeadersFrame(sid)
        f.data = self.enc.encode(h)
        f.flags.add('END_HEADERS')
        if end_stream:
            f.flags.add('END_STREAM')
        return f.serialize()

    def read_frame(self, deadline):
        while len(self.buf) < 9 or len(self.buf) < 9 + int.from_bytes(self.buf[:3], 'big'):
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.s.settimeout(left)
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                return None
            except OSError:
                chunk = b''
            if not chunk:
                self.closed = True
                print('eof')
                return None
            self.buf += chunk
        f, length = Frame.parse_frame_header(memoryview(self.buf[:9]))
        f.parse_body(memoryview(self.buf[9:9 + length]))
        self.buf = self.buf[9 + length:]
        self.report(f)
        return f

    def report(self, f):
        if isinstance(f, SettingsFrame) and 'ACK' not in f.flags and not self.seen_settings:
            self.seen_settings = True
            print('settings ' + ','.join('%d=%d' % kv for kv in sorted(f.settings.items())))
            self.send(SettingsFrame(0, flags=['ACK']).serialize())
        elif isinstance(f, HeadersFrame) or isinstance(f, ContinuationFrame):
            for k, v in self.dec.decode(f.data):
                if k == ':status':
                    print('status %d %s' % (f.stream_id, v))
            if 'END_STREAM' in f.flags:
                print('end %d' % f.stream_id)
        elif isinstance(f, DataFrame):
            self.data[f.stream_id] = self.data.get(f.stream_id, 0) + len(f.data)
            if 'END_STREAM' in f.flags:
                print('data %d %d' % (f.stream_id, self.data[f.stream_id]))
                print('end %d' % f.stream_id)
            if len(f.data) and not self.no_window_updates:
                self.send(WindowUpdateFrame(0, window_increment=len(f.data)).serialize() +
                          WindowUpdateFrame(f.stream_id, window_increment=len(f.data)).serialize())
        elif isinstance(f, RstStreamFrame):
            print('rst %d %d' % (f.stream_id, f.error_code))
        elif isinstance(f, GoAwayFrame):
            self.goaway = f.error_code
            print('goaway %d %d' % (f.last_stream_id, f.error_code))
        sys.stdout.flush()

    no_window_updates = False

    # Reads until `pred` (given the last frame) says stop, a GOAWAY, EOF or `secs`.
    def until(self, pred=lambda f: False, secs=5.0, stop_at_goaway=True):
        deadline = time.monotonic() + secs
        while not self.closed:
            f = self.read_frame(deadline)
            if f is None:
                return
            if stop_at_goaway and isinstance(f, GoAwayFrame):
                # Read on briefly: the close follows the GOAWAY.
                self.until(secs=1.0, stop_at_goaway=False)
                return
            if pred(f):
                return


def ends(sid):
    return lambda f: f.stream_id == sid and ('END_STREAM' in f.flags or isinstance(f, RstStreamFrame))


def main():
    port, tls, mode = int(sys.argv[1]), sys.argv[2] == '1', sys.argv[3]
    args = sys.argv[4:]
    if mode == 'get':  # PATH: one GET, to its end
        p = Peer(port, tls)
        p.send(p.head(1, args[0]))
        p.until(ends(1))
    elif mode == 'rapid_reset':  # N: N streams opened and reset at once
        p = Peer(port, tls)
        n = int(args[0])
        out = b''
        for i in range(n):
            sid = 1 + 2 * i
            out += p.head(sid) + RstStreamFrame(sid, error_code=8).serialize()
        p.send(out)
        p.until(secs=5)
    elif mode == 'continuation':  # N: HEADERS then N CONTINUATIONs, never END_HEADERS
        p = Peer(port, tls)
        block = p.enc.encode([(':method', 'GET'), (':scheme', 'https'), (':authority', 'a.test'), (':path', '/')])
        h = HeadersFrame(1)
        h.data = block
        h.flags.add('END_STREAM')
        out = h.serialize()
        for i in range(int(args[0])):
            c = ContinuationFrame(1)
            c.data = p.enc.encode([('x-c%d' % i, 'v' * 100)])
            out += c.serialize()
        p.send(out)
        p.until(secs=5)
    elif mode == 'hpack_bomb':  # N: one field held in the HPACK table, referenced N times
        p = Peer(port, tls)
        value = 'b' * 4000
        p.send(p.head(1, '/index.html', extra=[('x-bomb', value)]))  # enters the dynamic table
        p.until(ends(1))
        big = [(':method', 'GET'), (':scheme', 'https'), (':authority', 'a.test'), (':path', '/index.html')]
        big += [('x-bomb', value)] * int(args[0])
        block = p.enc.encode(big)  # each repetition is one indexed byte
        h = HeadersFrame(3)
        h.data = block
        h.flags.add('END_HEADERS')
        h.flags.add('END_STREAM')
        print('block %d' % len(block))
        p.send(h.serialize())
        p.until(ends(3))
        p.send(p.head(5, '/index.html'))  # the connection still serves
        p.until(ends(5))
    elif mode in ('settings_flood', 'ping_flood', 'window_flood', 'empty_data_flood'):  # N frames
        p = Peer(port, tls)
        n = int(args[0])
        if mode == 'settings_flood':
            one = SettingsFrame(0).serialize()
        elif mode == 'ping_flood':
            one = PingFrame(0, opaque_data=b'12345678').serialize()
        elif mode == 'window_flood':
            one = WindowUpdateFrame(0, window_increment=1).serialize()
        else:
            p.send(p.head(1, '/index.html', method='POST', end_stream=False))
            one = DataFrame(1, data=b'').serialize()
        # Sent without reading: the acks pile up on the server's side.
        for i in range(0, n, 100):
            if not p.send(one * min(100, n - i)):
                break
        p.until(secs=5)
    elif mode == 'zero_window':  # PATH: a stream window of 0 that the client never opens
        p = Peer(port, tls, settings={SettingsFrame.INITIAL_WINDOW_SIZE: 0})
        p.no_window_updates = True
        p.send(p.head(1, args[0]))
        p.until(ends(1), secs=float(args[1]) if len(args) > 1 else 10.0)
        p.send(p.head(3, '/index.html', method='HEAD'))  # the connection still serves
        p.until(ends(3))
    elif mode == 'even_stream':  # a client stream with an even id
        p = Peer(port, tls)
        p.send(p.head(2))
        p.until(secs=5)
    elif mode == 'data_idle':  # DATA on a stream never opened
        p = Peer(port, tls)
        p.send(DataFrame(7, data=b'x').serialize())
        p.until(secs=5)
    elif mode == 'stream_id_down':  # stream 5, then 3
        p = Peer(port, tls)
        p.send(p.head(5))
        p.until(ends(5))
        p.send(p.head(3))
        p.until(secs=5)
    elif mode == 'too_many_streams':  # N [R]: N streams that stay open (bodies never sent), before any
        p = Peer(port, tls)               # SETTINGS ack; read until R of them were refused (or 5 s)
        out = b''
        for i in range(int(args[0])):
            out += p.head(1 + 2 * i, '/index.html', method='POST', extra=[('content-length', '10')], end_stream=False)
        p.send(out)
        want = int(args[1]) if len(args) > 1 else 1
        refused = [0]

        def enough(f):
            if isinstance(f, RstStreamFrame) and f.error_code == 7:
                refused[0] += 1
            return refused[0] >= want
        p.until(enough, secs=5)
        p.until(secs=0.3)  # and a little more: no other stream is refused
    elif mode == 'malformed':  # KIND: one malformed request, then a good one
        p = Peer(port, tls)
        kind = args[0]
        fields = [(':method', 'GET'), (':scheme', 'https'), (':authority', 'a.test'), (':path', '/index.html')]
        if kind == 'no_path':
            fields = fields[:3]
        elif kind == 'no_method':
            fields = fields[1:]
        elif kind == 'upper':
            fields.append(('X-Upper', 'v'))
        elif kind == 'connection':
            fields.append(('connection', 'keep-alive'))
        h = HeadersFrame(1)
        h.data = p.enc.encode(fields)
        h.flags.add('END_HEADERS')
        h.flags.add('END_STREAM')
        p.send(h.serialize())
        p.until(ends(1))
        p.send(p.head(3))
        p.until(ends(3))
    elif mode == 'short_body':  # content-length 10, 5 bytes and END_STREAM
        p = Peer(port, tls)
        p.send(p.head(1, '/index.html', method='POST', extra=[('content-length', '10')], end_stream=False) +
               DataFrame(1, data=b'12345', flags=['END_STREAM']).serialize())
        p.until(ends(1))
        p.send(p.head(3))
        p.until(ends(3))
    elif mode == 'slow_then_drain':  # PATH: one GET; after "sent" the caller reloads; read to the end
        p = Peer(port, tls)
        p.send(p.head(1, args[0]))
        print('sent')
        sys.stdout.flush()
        p.until(ends(1), secs=10, stop_at_goaway=False)
        p.until(secs=3, stop_at_goaway=False)  # the GOAWAY and the close that follow
    else:
        print('unknown mode', mode)
        sys.exit(2)
    sys.stdout.flush()


main()
