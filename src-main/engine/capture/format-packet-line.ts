import type { PacketRecord } from './packet-record'

const ICMP_NAMES: Record<string, string> = {
  '0': 'echo reply',
  '8': 'echo request',
  '3/0': 'net unreachable',
  '3/1': 'host unreachable',
  '3/2': 'protocol unreachable',
  '3/3': 'port unreachable',
  '3/4': 'frag-needed',
  '3/9': 'net admin-prohibited',
  '3/10': 'host admin-prohibited',
  '3/13': 'admin-prohibited',
  '4': 'source quench',
  '5': 'redirect',
  '11': 'time exceeded',
  '12': 'parameter problem'
}

const ICMPV6_NAMES: Record<string, string> = {
  '1/0': 'no route',
  '1/1': 'admin-prohibited',
  '1/3': 'address unreachable',
  '1/4': 'port unreachable',
  '1/5': 'source policy failed',
  '1/6': 'reject route',
  '2': 'packet too big',
  '3': 'time exceeded',
  '4': 'parameter problem',
  '128': 'echo request',
  '129': 'echo reply',
  '133': 'router solicitation',
  '134': 'router advertisement',
  '135': 'neighbor solicitation',
  '136': 'neighbor advertisement',
  '137': 'redirect'
}

/** Returns one line per packet in the spirit of `tcpdump -nn -r`. */
export function formatPacketLine(r: PacketRecord): string {
  const when = r.ts.replace('T', ' ').replace('Z', '')
  // A cooked (-i any) capture's packets carry their interface and direction, as tcpdump shows
  // them: by index, the name being the capturing host's to say.
  const where =
    r.ifindex !== undefined || r.dir !== undefined
      ? ` ${r.ifindex !== undefined ? `ifindex ${r.ifindex} ` : ''}${r.dir === 'in' ? 'In' : r.dir === 'out' ? 'Out' : (r.dir ?? '')}`.trimEnd()
      : ''
  const head = `${r.n} ${when}${where}${r.vlan ? ` vlan ${r.vlan.join('.')}` : ''}${r.nflogPrefix !== undefined ? ` nflog "${r.nflogPrefix}"` : ''}`
  if (!r.src) return `${head} ${r.problem ?? 'non-IP'}, length ${r.len}`
  const fam = r.ipVersion === 6 ? 'IP6' : 'IP'
  const frag = r.fragment
    ? ` (frag id ${r.ipId} offset ${r.fragOffset ?? 0}${r.mf ? '+' : ''})`
    : ''
  let body: string
  if (r.tcpFlags !== undefined) {
    const parts = [`Flags [${r.tcpFlags}]`, `seq ${r.seq}`]
    if (r.tcpFlags.includes('.')) parts.push(`ack ${r.ack}`)
    parts.push(`win ${r.win}`, `length ${r.payloadLen}`)
    body = `${r.src}.${r.sport} > ${r.dst}.${r.dport}: ${parts.join(', ')}`
  } else if (r.proto === 'udp' && r.sport !== undefined) {
    body = `${r.src}.${r.sport} > ${r.dst}.${r.dport}: UDP, length ${r.payloadLen}`
  } else if (r.icmpType !== undefined) {
    const table = r.proto === 'icmpv6' ? ICMPV6_NAMES : ICMP_NAMES
    const name =
      table[`${r.icmpType}/${r.icmpCode}`] ??
      table[`${r.icmpType}`] ??
      `type ${r.icmpType} code ${r.icmpCode}`
    let text = `${r.src} > ${r.dst}: ${r.proto === 'icmpv6' ? 'ICMP6' : 'ICMP'} ${name}`
    if (r.mtu !== undefined) text += ` mtu ${r.mtu}`
    if (r.inner) {
      const q = r.inner
      const ports =
        q.sport !== undefined ? `${q.src}.${q.sport} > ${q.dst}.${q.dport}` : `${q.src} > ${q.dst}`
      text += ` for ${q.proto} ${ports}${q.seq !== undefined ? ` seq ${q.seq}` : ''}`
    }
    body = text
  } else {
    body = `${r.src} > ${r.dst}: ${r.proto === 'other' ? 'proto other' : r.proto}`
  }
  const tail = r.problem ? ` [${r.problem}]` : ''
  const length = body.includes('length') ? '' : `, length ${r.len}`
  return `${head} ${fam} ${body}${frag}${length}${tail}`
}
