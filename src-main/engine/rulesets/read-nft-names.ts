/** The names nft prints for ports, ICMP types and codes, and TCP flags. */

/** Port numbers of the service names nft prints and accepts (a common subset of /etc/services). */
export const SERVICES: Record<string, number> = {
  'ftp-data': 20,
  ftp: 21,
  ssh: 22,
  telnet: 23,
  smtp: 25,
  domain: 53,
  bootps: 67,
  bootpc: 68,
  tftp: 69,
  http: 80,
  www: 80,
  kerberos: 88,
  pop3: 110,
  sunrpc: 111,
  ntp: 123,
  'netbios-ns': 137,
  'netbios-dgm': 138,
  'netbios-ssn': 139,
  imap: 143,
  imap2: 143,
  snmp: 161,
  'snmp-trap': 162,
  bgp: 179,
  ldap: 389,
  https: 443,
  'microsoft-ds': 445,
  submissions: 465,
  isakmp: 500,
  syslog: 514,
  printer: 515,
  'dhcpv6-client': 546,
  'dhcpv6-server': 547,
  submission: 587,
  ipp: 631,
  ldaps: 636,
  'domain-s': 853,
  rsync: 873,
  imaps: 993,
  pop3s: 995,
  openvpn: 1194,
  'ms-sql-s': 1433,
  nfs: 2049,
  mysql: 3306,
  'ms-wbt-server': 3389,
  'ipsec-nat-t': 4500,
  sip: 5060,
  'sip-tls': 5061,
  mdns: 5353,
  postgresql: 5432,
  'http-alt': 8080
}

/** nft's ICMP type names beyond the ones iptables shares (nft(8) icmp_type, icmpv6_type). */
export const NFT_ICMP: Record<string, number> = {
  'info-request': 15,
  'info-reply': 16,
  'address-mask-request': 17,
  'address-mask-reply': 18
}
export const NFT_ICMPV6: Record<string, number> = {
  'mld-listener-query': 130,
  'mld-listener-report': 131,
  'mld-listener-done': 132,
  'mld-listener-reduction': 132,
  'nd-router-solicit': 133,
  'nd-router-advert': 134,
  'nd-neighbor-solicit': 135,
  'nd-neighbor-advert': 136,
  'nd-redirect': 137,
  'router-renumbering': 138,
  'ind-neighbor-solicit': 141,
  'ind-neighbor-advert': 142,
  'mld2-listener-report': 143
}
/** nft's ICMP code names (icmp_code, icmpv6_code). */
export const ICMP_CODES: Record<string, number> = {
  'net-unreachable': 0,
  'host-unreachable': 1,
  'prot-unreachable': 2,
  'port-unreachable': 3,
  'frag-needed': 4,
  'net-prohibited': 9,
  'host-prohibited': 10,
  'admin-prohibited': 13
}
export const ICMPV6_CODES: Record<string, number> = {
  'no-route': 0,
  'admin-prohibited': 1,
  'addr-unreachable': 3,
  'port-unreachable': 4,
  'policy-fail': 5,
  'reject-route': 6
}

export const TCP_FLAGS: Record<string, number> = {
  fin: 1,
  syn: 2,
  rst: 4,
  psh: 8,
  ack: 16,
  urg: 32,
  ecn: 64,
  cwr: 128
}
/** The record's own value for a key (never one inherited from Object.prototype). */
export function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined
}
