/**
 * What a REJECT sends back: a TCP reset, or an ICMP / ICMPv6 unreachable
 * with a code. Used to check that the answer a flow got is the one a rule
 * would give.
 */

/** The answer a reject rule sends. */
export interface RejectAnswer {
  tcpReset: boolean
  /** ICMP type and code for IPv4 and IPv6. */
  v4?: [number, number]
  v6?: [number, number]
}

const V4: Record<string, number> = {
  'net-unreachable': 0,
  'network-unreachable': 0,
  'no-route': 0,
  'host-unreachable': 1,
  'proto-unreachable': 2,
  'protocol-unreachable': 2,
  'port-unreachable': 3,
  'net-prohibited': 9,
  'host-prohibited': 10,
  'admin-prohibited': 13,
  'adm-prohibited': 13
}
const V6: Record<string, number> = {
  'no-route': 0,
  'net-unreachable': 0,
  'admin-prohibited': 1,
  'adm-prohibited': 1,
  'addr-unreachable': 3,
  'host-unreachable': 3,
  'port-unreachable': 4,
  'policy-fail': 5,
  'reject-route': 6
}

/** Returns the answer a reject's `with` (as the readers keep it) sends. */
export function rejectAnswer(withText: string): RejectAnswer {
  const w = withText.toLowerCase().trim()
  if (/tcp[- ]reset/.test(w)) return { tcpReset: true }
  const family = /^icmp6|^icmpv6/.test(w) ? 6 : /^icmpx/.test(w) ? 0 : 4
  const name = w.replace(/^(icmpx|icmpv6|icmp6|icmp)[- ]/, '').replace(/^type /, '')
  const out: RejectAnswer = { tcpReset: false }
  if (family !== 6 && V4[name] !== undefined) out.v4 = [3, V4[name]]
  if (family !== 4 && V6[name] !== undefined) out.v6 = [1, V6[name]]
  return out
}

/** Returns whether an ICMP error (type, code, family) is what the reject sends. */
export function answersWith(withText: string, type: number, code: number, v6: boolean): boolean {
  const a = rejectAnswer(withText)
  const want = v6 ? a.v6 : a.v4
  return want !== undefined && want[0] === type && want[1] === code
}
