import { parseCidr } from '../rulesets/parse-address'
import type { PortProto, Service } from './model'

/**
 * The common services firewalld ships (config/services/*.xml): name, then
 * ports as `PORT[-PORT]/PROTO`, `src:PORT/PROTO` for source ports, `proto:NAME`
 * for protocols, `v4:ADDR`/`v6:ADDR` for destinations and `inc:NAME` for includes.
 */
const TABLE: Record<string, string> = {
  ssh: '22/tcp',
  http: '80/tcp',
  https: '443/tcp',
  http3: '443/udp',
  dns: '53/tcp 53/udp',
  dhcp: '67/udp',
  dhcpv6: '547/udp',
  'dhcpv6-client': '546/udp v6:fe80::/64',
  cockpit: '9090/tcp',
  mdns: '5353/udp v4:224.0.0.251 v6:ff02::fb',
  samba: '139/tcp 445/tcp inc:samba-client',
  'samba-client': '138/udp inc:netbios-ns',
  'netbios-ns': '137/udp',
  ftp: '21/tcp',
  tftp: '69/udp',
  ntp: '123/udp',
  nfs: '2049/tcp',
  mountd: '20048/tcp 20048/udp',
  'rpc-bind': '111/tcp 111/udp',
  smtp: '25/tcp',
  smtps: '465/tcp',
  imap: '143/tcp',
  imaps: '993/tcp',
  pop3: '110/tcp',
  pop3s: '995/tcp',
  mysql: '3306/tcp',
  postgresql: '5432/tcp',
  ldap: '389/tcp',
  ldaps: '636/tcp',
  kerberos: '88/tcp 88/udp',
  snmp: '161/tcp 161/udp',
  'kube-apiserver': '6443/tcp',
  wireguard: '51820/udp',
  ipp: '631/tcp 631/udp',
  'ipp-client': '631/udp',
  'llmnr-client': 'src:5355/udp',
  'upnp-client': 'src:1900/udp',
  gre: 'proto:gre',
  vrrp: 'proto:vrrp',
  telnet: '23/tcp',
  syslog: '514/udp',
  'zabbix-agent': '10050/tcp',
  'prometheus-node-exporter': '9100/tcp',
  redis: '6379/tcp',
  'vnc-server': '5900-5903/tcp'
}

/** Returns Verdict's copy of a firewalld-shipped service definition, or undefined when not in the table. */
export function builtinService(name: string): Service | undefined {
  const spec = TABLE[name]
  if (spec === undefined) return undefined
  const s: Service = {
    name,
    where: { file: '(built-in firewalld services)', line: 0 },
    ports: [],
    protocols: [],
    sourcePorts: [],
    destination: {},
    includes: [],
    helpers: [],
    builtin: true
  }
  for (const word of spec.split(' ')) {
    const [tag, rest] = word.includes(':') && !/^\d/.test(word) ? split(word) : ['', word]
    if (tag === 'proto') s.protocols.push(rest)
    else if (tag === 'inc') s.includes.push(rest)
    else if (tag === 'v4') s.destination.ipv4 = parseCidr(rest)
    else if (tag === 'v6') s.destination.ipv6 = parseCidr(rest)
    else (tag === 'src' ? s.sourcePorts : s.ports).push(portOf(rest))
  }
  return s
}

/** Returns the names in the built-in table. */
export function builtinServiceNames(): string[] {
  return Object.keys(TABLE)
}

function split(word: string): [string, string] {
  const at = word.indexOf(':')
  return [word.slice(0, at), word.slice(at + 1)]
}

function portOf(text: string): PortProto {
  const [range, proto] = text.split('/')
  const [from, to] = range.split('-').map(Number)
  return { from, to: to ?? from, proto }
}
