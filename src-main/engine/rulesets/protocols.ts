/** IP protocol numbers by the names iptables and nft print (/etc/protocols). */
export const PROTOCOLS: Record<string, number> = {
  icmp: 1,
  igmp: 2,
  tcp: 6,
  udp: 17,
  gre: 47,
  esp: 50,
  ah: 51,
  'ipv6-icmp': 58,
  icmpv6: 58,
  icmp6: 58,
  sctp: 132,
  udplite: 136
}

/** ICMP type[/code] by the names iptables -p icmp --icmp-type and nft accept. */
export const ICMP_NAMES: Record<string, [number, number?]> = {
  'echo-reply': [0],
  pong: [0],
  'destination-unreachable': [3],
  'network-unreachable': [3, 0],
  'net-unreachable': [3, 0],
  'host-unreachable': [3, 1],
  'protocol-unreachable': [3, 2],
  'port-unreachable': [3, 3],
  'fragmentation-needed': [3, 4],
  'frag-needed': [3, 4],
  'source-route-failed': [3, 5],
  'network-unknown': [3, 6],
  'host-unknown': [3, 7],
  'network-prohibited': [3, 9],
  'net-prohibited': [3, 9],
  'host-prohibited': [3, 10],
  'TOS-network-unreachable': [3, 11],
  'TOS-host-unreachable': [3, 12],
  'communication-prohibited': [3, 13],
  'admin-prohibited': [3, 13],
  'source-quench': [4],
  redirect: [5],
  'echo-request': [8],
  ping: [8],
  'router-advertisement': [9],
  'router-solicitation': [10],
  'time-exceeded': [11],
  'ttl-exceeded': [11],
  'parameter-problem': [12],
  'timestamp-request': [13],
  'timestamp-reply': [14]
}

/** ICMPv6 type[/code] by name (RFC 4443, RFC 4861). */
export const ICMPV6_NAMES: Record<string, [number, number?]> = {
  'destination-unreachable': [1],
  'no-route': [1, 0],
  'communication-prohibited': [1, 1],
  'admin-prohibited': [1, 1],
  'beyond-scope': [1, 2],
  'address-unreachable': [1, 3],
  'port-unreachable': [1, 4],
  'failed-policy': [1, 5],
  'reject-route': [1, 6],
  'packet-too-big': [2],
  'time-exceeded': [3],
  'ttl-zero-during-transit': [3, 0],
  'parameter-problem': [4],
  'echo-request': [128],
  'echo-reply': [129],
  'router-solicitation': [133],
  'router-advertisement': [134],
  'neighbour-solicitation': [135],
  'neighbor-solicitation': [135],
  'neighbour-advertisement': [136],
  'neighbor-advertisement': [136],
  redirect: [137]
}

/** Returns the protocol number for a name or number, or undefined. */
export function protocolNumber(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text)
  return PROTOCOLS[text.toLowerCase()]
}
