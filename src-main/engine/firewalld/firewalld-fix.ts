import type { PacketSpec } from '../evaluate/packet-spec'
import { builtinService, builtinServiceNames } from './builtin-services'
import { icmpNameOf } from './icmp-types'
import type { FirewalldConfig, FirewalldVerdict } from './model'

/** What the fix should achieve: let the packet in (optionally only from its source), or masquerade. */
export interface FixIntent {
  want?: 'allow' | 'masquerade'
  /** Allow only from the packet's source address, as a rich rule. */
  onlyFromSource?: boolean
}

/**
 * Returns the firewall-cmd commands (permanent, then `--reload`) that would
 * let the packet through where the verdict says firewalld stops it, or
 * masquerade its egress zone; empty when there is nothing to change.
 */
export function firewalldFix(
  config: FirewalldConfig,
  packet: PacketSpec,
  verdict: FirewalldVerdict,
  intent: FixIntent = {}
): string[] {
  const zone = verdict.zone ?? verdict.egressZone
  if (intent.want === 'masquerade') {
    const z = verdict.egressZone ?? zone
    return z && !config.zones.get(z)?.masquerade
      ? [cmd(`--zone=${z} --add-masquerade`), RELOAD]
      : []
  }
  if (verdict.verdict === 'accept') return []
  const d = verdict.decidedBy
  const owner = d.policy ? `--policy=${d.policy}` : `--zone=${d.zone ?? zone}`
  if (d.kind === 'icmp-block') return [cmd(`${owner} --remove-icmp-block=${d.text}`), RELOAD]
  if (d.kind === 'rich-rule') return [cmd(`${owner} --remove-rich-rule='${d.text}'`), RELOAD]
  const v6 = packet.proto === 'icmpv6'
  const icmp =
    packet.proto === 'icmp' || v6
      ? icmpNameOf(v6, packet.icmpType ?? 0, packet.icmpCode ?? 0)
      : undefined
  if (d.kind === 'icmp-block-inversion' && icmp)
    return [cmd(`${owner} --add-icmp-block=${icmp}`), RELOAD]
  if (d.kind === 'builtin') return []
  const out: string[] = []
  let where = owner
  if (
    verdict.trace.some((c) => c.startsWith('filter_FWD_')) &&
    d.kind === 'target' &&
    verdict.egressZone
  ) {
    const name = `${verdict.zone}-to-${verdict.egressZone}`
    out.push(
      cmd(`--new-policy=${name}`),
      cmd(`--policy=${name} --add-ingress-zone=${verdict.zone}`),
      cmd(`--policy=${name} --add-egress-zone=${verdict.egressZone}`)
    )
    where = `--policy=${name}`
  }
  out.push(cmd(`${where} ${allowWhat(config, packet, intent, icmp)}`), RELOAD)
  return out
}

const RELOAD = 'firewall-cmd --reload'

function cmd(args: string): string {
  return `firewall-cmd ${args} --permanent`
}

function allowWhat(
  config: FirewalldConfig,
  packet: PacketSpec,
  intent: FixIntent,
  icmp?: string
): string {
  const family = packet.src.version === 4 ? 'ipv4' : 'ipv6'
  const element =
    packet.dport !== undefined
      ? `port port="${packet.dport}" protocol="${packet.proto}"`
      : icmp
        ? `icmp-type name="${icmp}"`
        : `protocol value="${packet.proto}"`
  if (intent.onlyFromSource)
    return `--add-rich-rule='rule family="${family}" source address="${packet.srcText}" ${element} accept'`
  if (packet.dport === undefined)
    return icmp
      ? `--add-rich-rule='rule family="${family}" ${element} accept'`
      : `--add-protocol=${packet.proto}`
  const service = exactService(config, packet)
  return service ? `--add-service=${service}` : `--add-port=${packet.dport}/${packet.proto}`
}

/** A service whose whole definition is this one port: adding it opens exactly what is needed. */
function exactService(config: FirewalldConfig, packet: PacketSpec): string | undefined {
  const builtins = builtinServiceNames().map((n) => builtinService(n))
  for (const s of [...config.services.values(), ...builtins]) {
    if (!s) continue
    const only = s.ports.length === 1 && s.protocols.length === 0 && s.sourcePorts.length === 0
    const p = s.ports[0]
    const noDest = !s.destination.ipv4 && !s.destination.ipv6 && s.includes.length === 0
    if (only && noDest && p.from === packet.dport && p.to === p.from && p.proto === packet.proto)
      return s.name
  }
  return undefined
}
