#!/usr/bin/env python3
"""The firewalld oracle's traffic: one probe and what came back, or the servers it talks to.

  probe.py tcp SRC SPORT DST DPORT    a SYN (a non-blocking connect from SRC:SPORT)
  probe.py udp SRC SPORT DST DPORT    one datagram from SRC:SPORT
  probe.py icmp SRC ID DST TYPE       an ICMP echo (8) or timestamp (13) request with this id
  probe.py serve TCPPORTS UDPPORTS    listens on every port (comma lists), answers UDP, says "ready"

A probe prints one word, read from raw sockets so the exact answer is seen: synack, rst,
udp-reply, echo-reply, timestamp-reply, icmp-T/C (an ICMP error quoting the probe), or none
(nothing within the wait).
"""
import select
import socket
import struct
import sys
import time

WAIT = 1.5


def checksum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def ip_split(pkt):
    ihl = (pkt[0] & 0x0F) * 4
    return pkt[9], socket.inet_ntoa(pkt[12:16]), socket.inet_ntoa(pkt[16:20]), pkt[ihl:]


def quoted(icmp, proto, src, dst, a, b):
    """Whether an ICMP error quotes our probe: its protocol, addresses and ports (or id)."""
    inner = icmp[8:]
    if len(inner) < 28:
        return False
    p, s, d, l4 = ip_split(inner)
    if p != proto or s != src or d != dst:
        return False
    if proto == 1:
        return struct.unpack('!H', l4[4:6])[0] == a
    return struct.unpack('!HH', l4[:4]) == (a, b)


def probe(kind, src, a, dst, b):
    raws = [socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)]
    proto = {'tcp': 6, 'udp': 17, 'icmp': 1}[kind]
    if kind != 'icmp':
        raws.append(socket.socket(socket.AF_INET, socket.SOCK_RAW, proto))
    if kind == 'tcp':
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        s.bind((src, a))
        s.setblocking(False)
        s.connect_ex((dst, b))
    elif kind == 'udp':
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((src, a))
        s.sendto(b'verdict firewalld oracle', (dst, b))
    else:
        s = raws[0]
        s.bind((src, 0))
        body = struct.pack('!III', 0, 0, 0) if b == 13 else b'verdict firewalld oracle'
        head = struct.pack('!BBHHH', b, 0, 0, a, 1)
        msg = struct.pack('!BBHHH', b, 0, checksum(head + body), a, 1) + body
        s.sendto(msg, (dst, 0))
    end = time.monotonic() + WAIT
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return 'none'
        ready, _, _ = select.select(raws, [], [], left)
        for r in ready:
            pkt = r.recv(65535)
            p, psrc, pdst, l4 = ip_split(pkt)
            if pdst != src:
                continue
            if p == 1:
                t, c = l4[0], l4[1]
                if t in (3, 4, 5, 11, 12) and quoted(l4, proto, src, dst, a, b):
                    return 'icmp-%d/%d' % (t, c)
                if kind == 'icmp' and psrc == dst and struct.unpack('!H', l4[4:6])[0] == a:
                    if t == 0 and b == 8:
                        return 'echo-reply'
                    if t == 14 and b == 13:
                        return 'timestamp-reply'
            elif p == proto and psrc == dst and struct.unpack('!HH', l4[:4]) == (b, a):
                if kind == 'udp':
                    return 'udp-reply'
                flags = l4[13]
                if flags & 0x12 == 0x12:
                    return 'synack'
                if flags & 0x04:
                    return 'rst'


def serve(tcp_ports, udp_ports):
    socks = []
    for port in tcp_ports:
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        t.bind(('0.0.0.0', port))
        t.listen(64)
        socks.append(t)
    udp = set()
    for port in udp_ports:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(('0.0.0.0', port))
        socks.append(u)
        udp.add(u)
    print('ready', flush=True)
    while True:
        ready, _, _ = select.select(socks, [], [])
        for s in ready:
            if s in udp:
                data, peer = s.recvfrom(65535)
                s.sendto(data, peer)
            else:
                conn, _ = s.accept()
                conn.close()


def ports(text):
    return [int(p) for p in text.split(',') if p]


if __name__ == '__main__':
    if sys.argv[1] == 'serve':
        serve(ports(sys.argv[2]), ports(sys.argv[3]))
    else:
        k, src, a, dst, b = sys.argv[1:6]
        print(probe(k, src, int(a), dst, int(b)), flush=True)
