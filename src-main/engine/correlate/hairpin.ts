/**
 * Hairpin NAT without source NAT: a client calls a public address its router translates (DNAT)
 * to a server on the client's own network. The router sends the SYN back out of the interface
 * it came in by, with the client's own source address; the server answers the client directly,
 * from its own address, and the client, which called the public address, knows no such
 * connection and resets it. Captures show two one-way conversations: the translated one (the
 * SYN-ACK never comes back through the router) and, at the client, a SYN-ACK from the server.
 */

import type { Evidence, Flow } from '../../shared/incident'
import type { EvidenceSet } from './evidence'
import type { Draft } from './decide'
import { normalizeAddress } from '../hostfacts/address'
import { bridgesOf } from './bridge'
import { masqueradeFix } from './fix'
import { flowRoles, interfaceToward, ownsAddress, type FlowRoles } from './host-roles'
import { endpointText } from './simulate'

/** The hairpin finding of a flow: the translated conversation, or the answer that went round it. */
export function hairpin(
  flow: Flow,
  roles: FlowRoles,
  ev: EvidenceSet,
  flows: Flow[],
  seen: Evidence[],
  network: (router: FlowRoles['routers'][number], addr: string) => string
): Draft | undefined {
  if (flow.proto !== 'tcp' && flow.proto !== 'udp') return undefined
  if (!['one-way', 'syn-timeout', 'unanswered'].includes(flow.outcome)) return undefined
  // The translated conversation (this one, or the one whose translated destination this one
  // went to), and the answer that went round the router (from the translated server).
  const index = indexOf(flows)
  const translated = flow.nat ? flow : index.translated.get(tupleKey(flow, flow.dst, flow.dport))
  if (!translated) return undefined
  const r = translated === flow ? roles : flowRoles(translated, ev)
  if (!isHairpinned(r)) return undefined
  const e = r.ends
  const router = r.routers.find((h) => ownsAddress(h, e.dst))!
  const out = interfaceToward(router, e.farDst)
  const self = selfCall(router, e, out)
  if (self) return selfCallDraft(flow, router, e, self, seen)
  const lan = network(router, e.src)
  const answer = index.byTuple.get(tupleKey(translated, e.farDst, e.farDport))
  const reset = answer?.rst ?? (translated.rst?.by === 'initiator' ? translated.rst : undefined)
  const evidence: Evidence[] = [
    {
      kind: 'packet',
      weight: answer ? 'proves' : 'suggests',
      text: answer
        ? `${e.src} received the SYN-ACK straight from ${endpointText(e.farDst, e.farDport)} (${answer.id}), not from ${endpointText(e.dst, e.dport)} which it called${reset ? ', and reset it' : ''}`
        : `the server's SYN-ACK to ${e.src} never came back through ${router.name}: ${e.farDst} is on ${e.src}'s own network and answers it directly`,
      time: answer?.first ?? translated.first
    },
    ...seen
  ]
  return {
    flow,
    cause: {
      kind: 'nat',
      host: router.name || undefined,
      system: router.rulesets[0]?.value.system,
      verdict: 'no hairpin source NAT'
    },
    evidence,
    confidence: answer ? 0.85 : 0.7,
    explanation: `${router.name || 'The router'} translates ${e.src}'s connection to ${endpointText(e.dst, e.dport)} into ${endpointText(e.farDst, e.farDport)} (DNAT), on ${e.src}'s own network (both behind ${out}), and sends it back out the way it came without translating the source: ${e.farDst} answers ${e.src} directly from its own address, and ${e.src}, which called ${e.dst}, does not know that answer${reset ? ' and resets it' : ''}. A hairpin NAT needs source NAT for connections from the inside to the translated server, so that the answers come back through ${router.name || 'the router'}.`,
    fix: masqueradeFix(router.rulesets[0]?.value, e.src.includes(':'), lan, out, {
      addr: e.farDst,
      proto: flow.proto,
      port: e.farDport
    })
  }
}

/** The finding of a client calling its own published address behind a bridge without hairpin. */
function selfCallDraft(
  flow: Flow,
  router: FlowRoles['routers'][number],
  e: FlowRoles['ends'],
  self: SelfCall,
  seen: Evidence[]
): Draft {
  const out = self.bridge
  return {
    flow,
    cause: { kind: 'nat', host: router.name || undefined, verdict: 'no bridge hairpin' },
    evidence: [
      ...(self.off
        ? [
            {
              kind: 'host' as const,
              weight: 'proves' as const,
              text: `${router.name || 'the router'}'s bridge ports (\`bridge -d link\`) show hairpin off${self.port ? ` on ${self.port}` : ` on every port of ${out}`}`
            }
          ]
        : []),
      ...seen
    ],
    confidence: self.off ? 0.85 : 0.75,
    explanation: `${e.src} called its own published address ${endpointText(e.dst, e.dport)}; ${router.name || 'the router'} translates it back to ${endpointText(e.farDst, e.farDport)}, ${e.src} itself, behind ${out}. The translated packet must leave by the very bridge port it came in by${self.port ? ` (${self.port})` : ''}, and a bridge sends a frame back out its own port only in hairpin mode, which is off: the packet is never delivered. Turn hairpin mode on for that port${self.port ? ', as the fix does' : ` (\`bridge link set dev PORT hairpin on\`, PORT the bridge port ${e.src} is behind)`}; the source NAT for it is not what is missing.`,
    fix: self.port ? `bridge link set dev ${self.port} hairpin on` : undefined,
    missing: self.port
      ? undefined
      : [`which port of ${out} ${e.src} is behind (a capture on each port)`]
  }
}

/**
 * A client calling its own published address, translated back to itself behind a bridge: the
 * bridge (with the port the client is behind, when the captures showed it) whose hairpin mode
 * it takes, rather than a source NAT.
 */
function selfCall(
  router: FlowRoles['routers'][number],
  e: FlowRoles['ends'],
  out: string | undefined
): SelfCall | undefined {
  if (out === undefined || normalizeAddress(e.src) !== normalizeAddress(e.farDst)) return undefined
  const ports = bridgesOf(router).get(out)
  if (!ports) return undefined
  const learnt = router.bridgePorts?.get(normalizeAddress(e.src))
  const port = learnt !== undefined && ports.includes(learnt) ? learnt : undefined
  const mode = (p: string) => router.ipAddr?.value.interfaces.find((i) => i.name === p)?.hairpin
  // Hairpin on where the client is: the frame can go back; something else stopped it.
  if (port !== undefined && mode(port) === true) return undefined
  const off = port !== undefined ? mode(port) === false : ports.every((p) => mode(p) === false)
  return { bridge: out, port, off }
}

/** The bridge a self-call crosses, the client's port on it if known, and whether hairpin is off. */
interface SelfCall {
  bridge: string
  port?: string
  off: boolean
}

/** A conversation's protocol, source and the destination given. */
function tupleKey(f: Flow, dst: string, dport: number | undefined): string {
  return `${f.proto} ${f.src} ${f.sport} ${dst} ${dport}`
}

interface FlowIndex {
  /** Every conversation by its own five-tuple. */
  byTuple: Map<string, Flow>
  /** Translated conversations by their source and translated destination. */
  translated: Map<string, Flow>
  count: number
}

/** The conversations indexed once per list (made again when the list grows). */
const indexes = new WeakMap<Flow[], FlowIndex>()
function indexOf(flows: Flow[]): FlowIndex {
  const known = indexes.get(flows)
  if (known && known.count === flows.length) return known
  const index: FlowIndex = { byTuple: new Map(), translated: new Map(), count: flows.length }
  for (const f of flows) {
    index.byTuple.set(tupleKey(f, f.dst, f.dport), f)
    const to = f.nat?.views.at(-1)
    if (to && (to.dst !== f.dst || to.dport !== f.dport))
      index.translated.set(tupleKey(f, to.dst, to.dport), f)
  }
  indexes.set(flows, index)
  return index
}

/**
 * A translated conversation whose DNAT sends it back to the client's own network: the router
 * owns the called address and reaches the client and the server by one interface, and the
 * server saw the client's own address (no source NAT).
 */
function isHairpinned(roles: FlowRoles): boolean {
  const e = roles.ends
  if (e.farDst === e.dst || e.farSrc !== e.src) return false
  const router = roles.routers.find((h) => ownsAddress(h, e.dst))
  if (!router) return false
  const inside = interfaceToward(router, e.src)
  return inside !== undefined && inside === interfaceToward(router, e.farDst)
}
