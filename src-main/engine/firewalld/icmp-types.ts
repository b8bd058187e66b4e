/** An ICMP type and, when it names one, a code; no code means any code of the type. */
export type IcmpTypeCode = [number, number?]

/**
 * firewalld's icmptype names and what each matches for IPv4 and IPv6 (its
 * ICMP_TYPES and ICMPV6_TYPES tables; names for a whole type match any code,
 * as nft's `icmp echo-request` does).
 */
export const FIREWALLD_ICMP_TYPES: Record<string, { v4?: IcmpTypeCode; v6?: IcmpTypeCode }> = {
  'echo-reply': { v4: [0], v6: [129] },
  pong: { v4: [0], v6: [129] },
  'echo-request': { v4: [8], v6: [128] },
  ping: { v4: [8], v6: [128] },
  'destination-unreachable': { v4: [3], v6: [1] },
  'network-unreachable': { v4: [3, 0] },
  'host-unreachable': { v4: [3, 1] },
  'protocol-unreachable': { v4: [3, 2] },
  'port-unreachable': { v4: [3, 3], v6: [1, 4] },
  'fragmentation-needed': { v4: [3, 4] },
  'source-route-failed': { v4: [3, 5] },
  'network-unknown': { v4: [3, 6] },
  'host-unknown': { v4: [3, 7] },
  'network-prohibited': { v4: [3, 9] },
  'host-prohibited': { v4: [3, 10] },
  'TOS-network-unreachable': { v4: [3, 11] },
  'TOS-host-unreachable': { v4: [3, 12] },
  'communication-prohibited': { v4: [3, 13], v6: [1, 1] },
  'host-precedence-violation': { v4: [3, 14] },
  'precedence-cutoff': { v4: [3, 15] },
  'source-quench': { v4: [4, 0] },
  redirect: { v4: [5], v6: [137, 0] },
  'network-redirect': { v4: [5, 0] },
  'host-redirect': { v4: [5, 1] },
  'TOS-network-redirect': { v4: [5, 2] },
  'TOS-host-redirect': { v4: [5, 3] },
  'router-advertisement': { v4: [9, 0], v6: [134, 0] },
  'router-solicitation': { v4: [10, 0], v6: [133, 0] },
  'time-exceeded': { v4: [11], v6: [3] },
  'ttl-zero-during-transit': { v4: [11, 0], v6: [3, 0] },
  'ttl-zero-during-reassembly': { v4: [11, 1], v6: [3, 1] },
  'parameter-problem': { v4: [12], v6: [4] },
  'ip-header-bad': { v4: [12, 0] },
  'required-option-missing': { v4: [12, 1] },
  'timestamp-request': { v4: [13, 0] },
  'timestamp-reply': { v4: [14, 0] },
  'address-mask-request': { v4: [17, 0] },
  'address-mask-reply': { v4: [18, 0] },
  'no-route': { v6: [1, 0] },
  'beyond-scope': { v6: [1, 2] },
  'address-unreachable': { v6: [1, 3] },
  'failed-policy': { v6: [1, 5] },
  'reject-route': { v6: [1, 6] },
  'packet-too-big': { v6: [2, 0] },
  'bad-header': { v6: [4, 0] },
  'unknown-header-type': { v6: [4, 1] },
  'unknown-option': { v6: [4, 2] },
  'mld-listener-query': { v6: [130, 0] },
  'mld-listener-report': { v6: [131, 0] },
  'mld-listener-done': { v6: [132, 0] },
  'mld2-listener-report': { v6: [143, 0] },
  'neighbour-solicitation': { v6: [135, 0] },
  'neighbour-advertisement': { v6: [136, 0] }
}

/** Returns whether the icmptype name matches an ICMP (v6 for icmpv6) type and code. */
export function icmpNameMatches(name: string, v6: boolean, type: number, code: number): boolean {
  const t = FIREWALLD_ICMP_TYPES[name]?.[v6 ? 'v6' : 'v4']
  return t !== undefined && t[0] === type && (t[1] === undefined || t[1] === code)
}

/** Returns the firewalld icmptype name for an ICMP type and code (the most specific one). */
export function icmpNameOf(v6: boolean, type: number, code: number): string | undefined {
  let whole: string | undefined
  for (const [name, t] of Object.entries(FIREWALLD_ICMP_TYPES)) {
    const tc = t[v6 ? 'v6' : 'v4']
    if (!tc || tc[0] !== type || ['ping', 'pong'].includes(name)) continue
    if (tc[1] === code) return name
    if (tc[1] === undefined) whole ??= name
  }
  return whole
}
