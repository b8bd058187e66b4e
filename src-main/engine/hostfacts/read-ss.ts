import { problem, type Problem } from '../../shared/problem'
import { addressFamily, normalizeAddress, numberedLines } from './address'

export interface Listener {
  proto: 'tcp' | 'udp'
  /** LISTEN (tcp), UNCONN (udp), or another state when the output holds more than listeners. */
  state: string
  /** As printed, without the port: '*', '0.0.0.0', '[::]', '127.0.0.53%lo'. */
  localAddress: string
  /** The bare address ('*' kept for any; '[::]' becomes '::'), without brackets or %iface. */
  address: string
  /** The device a socket is bound to (SO_BINDTODEVICE), the '%lo' suffix. */
  iface?: string
  port: number
  /** First process of users:(("name",pid=N,fd=M)). */
  process?: string
  pid?: number
  /** For LISTEN: connections waiting to be accepted / the backlog. */
  recvQ?: number
  sendQ?: number
  line: number
}

export interface SsSnapshot {
  listeners: Listener[]
  problems: Problem[]
}

const STATES = new Set([
  'LISTEN',
  'UNCONN',
  'ESTAB',
  'SYN-SENT',
  'SYN-RECV',
  'FIN-WAIT-1',
  'FIN-WAIT-2',
  'TIME-WAIT',
  'CLOSE-WAIT',
  'LAST-ACK',
  'CLOSING',
  'CLOSED'
])

/** Returns the sockets of `ss -tlnpu`, `ss -tlnp`, `ss -ulnp` (with or without -H). */
export function readSs(source: string, text: string): SsSnapshot {
  const listeners: Listener[] = []
  const problems: Problem[] = []
  for (const { lineNo, raw } of numberedLines(text)) {
    const line = raw.trim()
    if (line === '' || /^(Netid|State)\s/.test(line)) continue
    const words = line.split(/\s+/)
    let i = 0
    let proto: string | undefined
    if (!STATES.has(words[0])) proto = words[i++]
    const state = words[i++]
    if (state === undefined || !STATES.has(state)) {
      problems.push(problem(source, `line ${lineNo}`, 'not an ss socket line', raw))
      continue
    }
    proto ??= state === 'UNCONN' ? 'udp' : 'tcp'
    if (proto !== 'tcp' && proto !== 'udp') continue // raw, unix... are not listeners we use
    const recvQ = words[i++]
    const sendQ = words[i++]
    const local = words[i++]
    const peer = words[i++]
    const m =
      local === undefined ? null : /^(\[[^\]]*\]|[^%[]*?)(?:%([^:]+))?:(\d+|\*)$/.exec(local)
    if (!m || peer === undefined || !/^\d+$/.test(recvQ ?? '') || !/^\d+$/.test(sendQ ?? '')) {
      problems.push(problem(source, `line ${lineNo}`, 'not an ss socket line', raw))
      continue
    }
    if (m[3] === '*') {
      problems.push(problem(source, `line ${lineNo}`, 'a socket without a port', raw))
      continue
    }
    const bare = m[1].replace(/^\[|\]$/g, '')
    if (bare !== '*' && addressFamily(bare) === undefined) {
      problems.push(problem(source, `line ${lineNo}`, `not an address: ${m[1]}`, raw))
      continue
    }
    const l: Listener = {
      proto,
      state,
      localAddress: local.slice(0, local.length - m[3].length - 1),
      address: bare === '*' ? '*' : normalizeAddress(bare),
      port: Number(m[3]),
      recvQ: Number(recvQ),
      sendQ: Number(sendQ),
      line: lineNo
    }
    if (m[2] !== undefined) l.iface = m[2]
    const users = /users:\(\("([^"]*)",pid=(\d+)/.exec(words.slice(i).join(' '))
    if (users) {
      l.process = users[1]
      l.pid = Number(users[2])
    }
    listeners.push(l)
  }
  return { listeners, problems }
}

/**
 * Returns whether a socket listens for PROTO packets to ADDRESS:PORT.
 * '*' is any IPv4 or IPv6 address (a dual-stack [::] socket); '0.0.0.0' any
 * IPv4 address; '[::]' (printed so when IPV6_V6ONLY is set) any IPv6 address,
 * not IPv4; '::' without brackets (old ss, ':::22') is taken as dual-stack,
 * Linux's default. v4-mapped addresses (::ffff:a.b.c.d) are IPv4. A socket
 * bound to a device (`%lo`) only matches when `iface` is not given or equal.
 */
export function isListening(
  listeners: Listener[],
  proto: 'tcp' | 'udp',
  address: string,
  port: number,
  iface?: string
): boolean {
  const want = plain(address)
  const wantFamily = addressFamily(want)
  return listeners.some((l) => {
    if (l.proto !== proto || l.port !== port) return false
    if (l.state !== 'LISTEN' && l.state !== 'UNCONN') return false
    if (l.iface !== undefined && iface !== undefined && l.iface !== iface) return false
    if (l.address === '*') return true
    const have = plain(l.address)
    if (have === '0.0.0.0') return wantFamily === 4
    if (have === '::') return wantFamily === 6 || !l.localAddress.startsWith('[')
    return have === want
  })
}

function plain(address: string): string {
  const a = normalizeAddress(address.replace(/%.*$/, '').replace(/^\[|\]$/g, ''))
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a)
  return mapped ? mapped[1] : a
}
