import type { Flow } from '../../shared/incident'

/**
 * UDP ports of encapsulations whose packets are not questions and answers: VXLAN (IANA 4789,
 * and Linux's older default 8472), VXLAN-GPE (4790) and Geneve (6081). Each end sends its own
 * stream to the other's port from a source port the inner flow picks, so every direction is a
 * conversation of its own that nothing answers.
 */
const TUNNEL_PORTS = new Set([4789, 4790, 6081, 8472])

/**
 * Marks as answered the tunnel streams whose peer sends a stream back to the same port: the
 * tunnel works both ways, and neither direction is a failed exchange. A stream with none back
 * stays unanswered (the far end never sent anything through the tunnel).
 */
export function pairTunnelStreams(flows: Flow[]): void {
  const ends = new Set<string>()
  for (const f of flows)
    if (f.proto === 'udp' && f.dport !== undefined && TUNNEL_PORTS.has(f.dport))
      ends.add(`${f.src}>${f.dst}:${f.dport}`)
  if (ends.size === 0) return
  for (const f of flows) {
    if (f.proto !== 'udp' || f.outcome !== 'unanswered') continue
    if (f.dport === undefined || !TUNNEL_PORTS.has(f.dport)) continue
    if (ends.has(`${f.dst}>${f.src}:${f.dport}`)) f.outcome = 'answered'
  }
}
