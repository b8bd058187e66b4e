import type { PacketSpec } from '../evaluate/packet-spec'
import { addressMatches } from './match-firewalld'
import type { FirewalldConfig, Where } from './model'
import { ifaceMatches } from './walk-settings'

/** The zone a packet is dispatched to, and why: a zone source, an interface, or the default zone. */
export interface ZoneChoice {
  zone: string
  by: 'source' | 'interface' | 'default'
  /** The source or interface setting that chose it. */
  text?: string
  where?: Where
}

/**
 * Returns the zone firewalld dispatches a packet to: on ingress by source
 * address or input interface, on egress by destination address or output
 * interface. As firewalld sorts its dispatch rules, zones go by
 * ingress/egress priority, then source-bound before interface-bound, then
 * zone name; the default zone comes last.
 */
export function selectZone(
  config: FirewalldConfig,
  packet: PacketSpec,
  dir: 'ingress' | 'egress',
  iface: string | undefined
): ZoneChoice | undefined {
  const side = dir === 'ingress' ? 'src' : 'dst'
  const hits: { key: [number, number, string]; choice: ZoneChoice }[] = []
  for (const z of config.zones.values()) {
    const priority = dir === 'ingress' ? z.ingressPriority : z.egressPriority
    for (const s of z.sources) {
      if (!addressMatches(config, s.addr, packet, side).yes) continue
      const text = s.addr.kind === 'ipset' ? `ipset:${s.addr.name}` : s.addr.text
      hits.push({
        key: [priority, 1, z.name],
        choice: { zone: z.name, by: 'source', text, where: s.where }
      })
    }
    if (iface === undefined) continue
    for (const i of z.interfaces)
      if (ifaceMatches(i.name, iface))
        hits.push({
          key: [priority, 2, z.name],
          choice: { zone: z.name, by: 'interface', text: i.name, where: i.where }
        })
  }
  hits.sort((a, b) => a.key[0] - b.key[0] || a.key[1] - b.key[1] || cmp(a.key[2], b.key[2]))
  if (hits.length > 0) return hits[0].choice
  const dz = config.conf.defaultZone ?? 'public'
  return config.zones.has(dz) ? { zone: dz, by: 'default', where: config.conf.where } : undefined
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
