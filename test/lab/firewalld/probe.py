#!/usr/bin/env python3
"""The firewalld oracle's traffic: one probe and what came back, or the servers it talks to.

  probe.py tcp SRC SPORT DST DPORT    a SYN (a non-blocking connect from SRC:SPORT)
  probe.py udp SRC SPORT DST DPORT    one datagram from SRC:SPORT (a broadcast to 255.255.255.255)
  probe.py icmp SRC ID DST TYPE       an ICMP echo (8) or timestamp (13) request with this id
  probe.py icmpv6 SRC ID DST TYPE     an ICMPv6 echo request (128) with this id, or a router
                                      solicitation (133)
  probe.py serve TCPPORTS UDPPORTS    listens on every port (comma lists) over IPv4 and IPv6,
                                      answers UDP, says "ready"

SRC and DST of tcp and udp are IPv4 or IPv6 addresses. A probe prints one word, read from raw
sockets so the exact answer is seen: synack, rst, udp-reply, echo-reply, timestamp-reply,
icmp-T/C or icmp6-T/C (an ICMP or ICMPv6 error quoting the probe), or none (nothing within the
wait).
"""
import select
import socket
import struct
import sys
import time

WAIT = 1.5
PROTO = {'tcp': 6, 'udp': 17, 'icmp': 1, 'icmpv6': 58}
# RFC 4443 §2.1: ICMPv6 errors are types 0-127; these four quote the packet that caused them.
ICMP4_ERRORS = (3, 4, 5, 11, 12)
ICMP6_ERRORS = (1, 2, 3, 4)


def checksum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def ip_split(pkt):
    """An IPv4 packet as protocol, source, destination and payload."""
    ihl = (pkt[0] & 0x0F) * 4
    return pkt[9], socket.inet_ntoa(pkt[12:16]), socket.inet_ntoa(pkt[16:20]), pkt[ihl:]


def ip6_split(pkt):
    """An IPv6 packet (no extension headers) as next header, source, destination and payload."""
    ntop = lambda b: socket.inet_ntop(socket.AF_INET6, b)
    return pkt[6], ntop(pkt[8:24]), ntop(pkt[24:40]), pkt[40:]


def same6(a, b):
    return socket.inet_pton(socket.AF_INET6, a) == socket.inet_pton(socket.AF_INET6, b)


def quotes(inner, v6, proto, src, dst, a, b):
    """Whether the packet an ICMP error quotes is our probe: protocol, addresses, ports or id."""
    if len(inner) < (48 if v6 else 28):
        return False
    p, s, d, l4 = ip6_split(inner) if v6 else ip_split(inner)
    same = same6 if v6 else (lambda x, y: x == y)
    if p != proto or not same(s, src) or not same(d, dst):
        return False
    if proto in (1, 58):
        return l4[0] == b and (b == 133 or struct.unpack('!H', l4[4:6])[0] == a)
    return struct.unpack('!HH', l4[:4]) == (a, b)


def probe(kind, src, a, dst, b):
    v6 = ':' in dst
    family = socket.AF_INET6 if v6 else socket.AF_INET
    icmp_proto = 58 if v6 else 1
    proto = PROTO[kind]
    raws = [socket.socket(family, socket.SOCK_RAW, icmp_proto)]
    if proto != icmp_proto:
        raws.append(socket.socket(family, socket.SOCK_RAW, proto))
    if kind == 'tcp':
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        s.bind((src, a))
        s.setblocking(False)
        s.connect_ex((dst, b))
    elif kind == 'udp':
        s = socket.socket(family, socket.SOCK_DGRAM)
        if dst == '255.255.255.255':
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        s.bind((src, a))
        s.sendto(b'verdict firewalld oracle', (dst, b))
    else:
        s = raws[0]
        s.bind((src, 0))
        if v6:
            # A router solicitation counts only with hop limit 255 (RFC 4861 §6.1.1).
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
            body = b'\0\0\0\0' if b == 133 else struct.pack('!HH', a, 1) + b'verdict'
            # The kernel fills in an ICMPv6 checksum (RFC 3542 §3.1).
            msg = struct.pack('!BBH', b, 0, 0) + body
        else:
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
            if v6:
                # IPv6 raw sockets give the payload alone, and the sender beside it.
                l4, peer = r.recvfrom(65535)
                p, psrc = (58 if r is raws[0] else proto), peer[0]
                from_dst = same6(psrc, dst)
            else:
                pkt = r.recv(65535)
                p, psrc, pdst, l4 = ip_split(pkt)
                if pdst != src:
                    continue
                from_dst = psrc == dst
            if p == icmp_proto:
                t, c = l4[0], l4[1]
                errors = ICMP6_ERRORS if v6 else ICMP4_ERRORS
                if t in errors and quotes(l4[8:], v6, proto, src, dst, a, b):
                    return 'icmp%s-%d/%d' % ('6' if v6 else '', t, c)
                if proto == icmp_proto and from_dst and struct.unpack('!H', l4[4:6])[0] == a:
                    if (t, b) in ((0, 8), (129, 128)):
                        return 'echo-reply'
                    if (t, b) == (14, 13):
                        return 'timestamp-reply'
            elif p == proto and from_dst and struct.unpack('!HH', l4[:4]) == (b, a):
                if kind == 'udp':
                    return 'udp-reply'
                flags = l4[13]
                if flags & 0x12 == 0x12:
                    return 'synack'
                if flags & 0x04:
                    return 'rst'


def serve(tcp_ports, udp_ports):
    socks = []
    udp = set()
    for family, anywhere in ((socket.AF_INET, '0.0.0.0'), (socket.AF_INET6, '::')):
        for port in tcp_ports:
            t = socket.socket(family, socket.SOCK_STREAM)
            t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                t.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            t.bind((anywhere, port))
            t.listen(64)
            socks.append(t)
        for port in udp_ports:
            u = socket.socket(family, socket.SOCK_DGRAM)
            if family == socket.AF_INET6:
                u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            u.bind((anywhere, port))
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
