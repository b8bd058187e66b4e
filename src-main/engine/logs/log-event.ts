/**
 * What a log line says, as an event: a packet the kernel logged (a drop, an
 * accept, a trace), conntrack's table full, a refused TCP-wrappers
 * connection, an SELinux denial, a fail2ban ban. Times are kept as the line
 * wrote them; clock alignment turns them into capture time.
 */

import type { Problem } from '../../shared/problem'

export type LogEventKind =
  /** A netfilter LOG / nft `log` line: the packet's fields, its prefix. */
  | 'packet'
  /** `nf_conntrack: table full, dropping packet` (old and new forms). */
  | 'conntrack-full'
  /** Other nf_conntrack / nf_ct_* kernel messages. */
  | 'conntrack'
  /** sshd / tcpd: `refused connect from HOST (ADDR)`. */
  | 'tcp-wrappers'
  /** An SELinux AVC denial (name_connect, name_bind, node_bind ...). */
  | 'selinux'
  /** fail2ban `Ban` / `Unban`. */
  | 'fail2ban'
  /**
   * `IPv4: martian source DST from SRC, on dev IF` (log_martians): a packet the kernel dropped
   * for its source, most often its reverse-path filter; `martian destination` likewise.
   */
  | 'martian'

/** The line's time as written: one of boot seconds, a wall clock, or an absolute UTC time. */
export interface LogTime {
  /** dmesg's `[ 1234.567890]`: seconds since boot. */
  bootSec?: number
  /** A wall clock as written; `year` and `offsetMin` absent when the format leaves them out. */
  wall?: {
    year?: number
    month: number
    day: number
    hour: number
    minute: number
    second: number
    micros: number
    /** Minutes east of UTC, when the line says (RFC 5424, ISO with zone). */
    offsetMin?: number
  }
  /** Microseconds since the epoch, UTC, when the line fixes it fully (journald JSON, RFC 5424). */
  utcUs?: number
}

/** A packet as the netfilter log writes it (IN= OUT= SRC= ...). */
export interface LoggedPacket {
  in: string
  out: string
  mac?: string
  physIn?: string
  physOut?: string
  src: string
  dst: string
  /** IP total length (IPv4) or payload length + 40 (IPv6's LEN=). */
  len?: number
  tos?: number
  ttl?: number
  /** IPv4 identification. */
  id?: number
  df?: boolean
  mf?: boolean
  fragOffset?: number
  /** IPv6 traffic class, hop limit, flow label. */
  tc?: number
  hopLimit?: number
  flowLabel?: number
  /** PROTO= as written: TCP, UDP, ICMP, ICMPv6, or a number. */
  proto: string
  sport?: number
  dport?: number
  seq?: number
  ack?: number
  window?: number
  /** TCP flags as logged, upper case: SYN, ACK, RST, FIN, PSH, URG, ECE, CWR. */
  flags?: string[]
  icmpType?: number
  icmpCode?: number
  icmpId?: number
  icmpSeq?: number
  /** MTU= of frag-needed / packet-too-big. */
  mtu?: number
  /** The packet an ICMP error quotes (the bracketed part). */
  quoted?: LoggedPacket
  mark?: number
  uid?: number
  gid?: number
  /** PREC= (the precedence bits of the IPv4 TOS byte) and CE (the IPv4 reserved bit). */
  prec?: number
  ce?: boolean
  /** UDP's own LEN= (header + payload), written after PROTO=UDP. */
  udpLen?: number
  /** TCP RES= (reserved bits) and URGP= (urgent pointer). */
  res?: number
  urgp?: number
  /** ESP / AH SPI=. */
  spi?: number
  /** ICMP PARAMETER= (parameter problem), ICMPv6 POINTER=. */
  parameter?: number
  /** ICMP redirect GATEWAY=. */
  gateway?: string
  /** The kernel wrote TRUNCATED or INCOMPLETE [N bytes]: the packet was shorter than its headers. */
  truncated?: boolean
}

/** One event read from a log. */
export interface LogEvent {
  kind: LogEventKind
  /** The log file and the 1-based line the event was read from. */
  file: string
  line: number
  /** The whole line as written. */
  text: string
  time: LogTime
  /** The host the line names (syslog's HOSTNAME, journald's _HOSTNAME), when it does. */
  host?: string
  /** kind 'packet': the log prefix, trimmed of surrounding spaces ('' when none). */
  prefix?: string
  /** kind 'packet': the logged packet. */
  packet?: LoggedPacket
  /** kind 'conntrack-full': the netns inode (kernel 6.x) and how many messages were suppressed just before. */
  netns?: string
  suppressed?: number
  /** The line of the `N callbacks suppressed` message merged into this event, when there was one. */
  suppressedLine?: number
  /** kind 'tcp-wrappers': the daemon and the refused client's address. */
  daemon?: string
  client?: string
  /** kind 'selinux': the permission denied, the process, the port, the contexts and whether permissive. */
  selinux?: {
    permission: string
    comm?: string
    pid?: number
    port?: number
    dest?: string
    scontext?: string
    tcontext?: string
    tclass?: string
    permissive?: boolean
  }
  /** kind 'fail2ban': the jail, Ban or Unban, and the address. */
  fail2ban?: { jail: string; action: 'ban' | 'unban'; address: string }
  /** kind 'conntrack': the message after the `nf_conntrack:` / `nf_ct_` tag. */
  message?: string
  /**
   * kind 'martian': what was martian (its source or destination), the packet's addresses, the
   * device it came in on, and whether the link-layer header the kernel dumped after it (`ll
   * header: ...`) carries ARP: then the dropped packet was an ARP request.
   */
  martian?: { what: 'source' | 'destination'; src: string; dst: string; dev: string; arp?: boolean }
}

/** What a log reader returns: its events, the wrapper formats met, and what it could not read. */
export interface LogRead {
  events: LogEvent[]
  /** Lines in the file. */
  lines: number
  /** The wrappers seen (dmesg, dmesg-T, syslog, rfc5424, journal-short, journal-short-iso, journal-short-precise, journal-json). */
  wrappers: string[]
  /** Lines that looked like events but could not be read, with their line numbers. */
  problems: Problem[]
  /** Lines that were not events Verdict reads (other daemons' messages): counted, not errors. */
  ignored: number
}
