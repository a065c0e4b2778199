"""Sends N keep-alive GETs of PATH to 127.0.0.1:PORT, one after another,
reading each response whole (Content-Length framing). Exit 1 if the server
closes early or answers anything but 200."""
import socket
import sys

port, n, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].encode()
req = b"GET " + path + b" HTTP/1.1\r\nHost: localhost\r\n\r\n"
s = socket.create_connection(("127.0.0.1", port))
buf = b""
for _ in range(n):
    s.sendall(req)
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            head = buf[:end].decode("latin-1").split("\r\n")
            if " 200 " not in head[0] + " ":
                sys.exit("bench: answer " + head[0])
            length = next(int(l.split(":", 1)[1]) for l in head[1:] if l.lower().startswith("content-length:"))
            if len(buf) >= end + 4 + length:
                buf = buf[end + 4 + length:]
                break
        data = s.recv(65536)
        if not data:
            sys.exit("bench: the server closed the connection")
        buf += data
