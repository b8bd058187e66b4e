import {
  CONNTRACK_PRIORITY,
  untracks,
  type Chain,
  type Cidr,
  type CtState,
  type Hook,
  type Rule,
  type Ruleset,
  type SetMark,
  type Table
} from '../rulesets/model'
import { parseCidr } from '../rulesets/parse-address'
import { isOwnAddress, matchRule, type MatchContext } from './match-rule'
import type { PacketSpec } from './packet-spec'

/**
 * The packet's way through the host: to it, routed through it, from it, or bridged between two
 * ports of one of its bridges.
 */
export type PathKind = 'input' | 'forward' | 'output' | 'bridge'

/** The paths a packet is routed on (every path but bridging). */
export type RoutedPath = Exclude<PathKind, 'bridge'>

/** One rule or policy the packet met. */
export interface TraceStep {
  hook: Hook
  table: string
  chain: string
  kind: 'rule' | 'policy' | 'return'
  line?: number
  /** A rule's position in its chain (0 first): what names it where lines do not (nft JSON). */
  index?: number
  rule?: string
  matched: boolean
  /** Why it did not match (the first failing condition), or what it did. */
  note?: string
  action?: string
}

/** What decided the packet's fate. */
export interface DecidedBy {
  kind: 'rule' | 'policy'
  table: string
  chain: string
  line?: number
  /** The deciding rule's position in its chain (0 first). */
  index?: number
  rule?: string
}

/** The walk's result, in the shape of `nft monitor trace`. */
export interface WalkResult {
  verdict: 'accept' | 'drop' | 'reject'
  rejectWith?: string
  decidedBy?: DecidedBy
  trace: TraceStep[]
  uncertain: boolean
  uncertainWhy: string[]
  ct: CtState
  /** Where a DNAT or REDIRECT of this walk sent the packet (`ADDR[:PORT]` as the rule wrote it). */
  dnatTo?: string
  /**
   * The packet's mark when the kernel routes it (after prerouting; for the host's own packets,
   * after output, which reroutes a packet whose mark changed): what `ip rule fwmark` sees.
   * Undefined when the walk cannot tell (a mark set by a rule that may or may not match).
   */
  routingMark?: number
}

/** Options for a walk. */
export interface WalkOptions {
  path: PathKind
  ct?: CtState
  iif?: string
  oif?: string
  /** How stateful matches (limit, recent ...) are taken: under the limit, over it, or undecidable. */
  stateful?: 'unknown' | 'match' | 'miss'
  /** The host's own addresses, for addrtype and fib type matches. */
  local?: Cidr[]
  /** Walk as if no notrack rule held (what the rules would do with the packet tracked). */
  ignoreNotrack?: boolean
  /** Walk with the sets traffic fills empty (what the rules did before they filled them). */
  emptySets?: boolean
  /**
   * Path 'bridge' (iif and oif are the bridge ports): the bridge itself, which the ip-family
   * chains br_netfilter runs see as the packet's in and out interface.
   */
  bridge?: string
  /**
   * Path 'bridge': whether br_netfilter hands bridged packets to the ip-family hooks
   * (net.bridge.bridge-nf-call-iptables, -ip6tables); undefined when not known, and then they
   * are walked, and a verdict of theirs is uncertain.
   */
  brNetfilter?: boolean
  /** The packet crossed no bridge on this host: -m physdev is decided (no ports). */
  notBridged?: boolean
}

/**
 * The hooks a packet of each path crosses, in order: a packet from a device meets the netdev
 * ingress hook first (before conntrack and prerouting), one leaving by a device the egress hook
 * last.
 */
export const HOOKS: Record<RoutedPath, Hook[]> = {
  input: ['ingress', 'prerouting', 'input'],
  forward: ['ingress', 'prerouting', 'forward', 'postrouting', 'egress'],
  output: ['output', 'postrouting', 'egress']
}

/**
 * Where br_netfilter runs the ip-family hooks among a bridge hook's chains: at priority 0
 * (NF_BR_PRI_BRNF) on prerouting and forward, and last on postrouting (br_netfilter_hooks.c;
 * kernels before 6.6 ran the forward hook at -1). Bridge chains of a lower priority run before
 * them, of a higher one after; of the same priority, before (they were registered first).
 */
const BRNF_PRIORITY: Partial<Record<Hook, number>> = {
  prerouting: 0,
  forward: 0,
  postrouting: Infinity
}

/** One base chain a packet meets, with the interfaces it sees the packet by. */
interface Stage {
  hook: Hook
  table: Table
  chain: Chain
  iif?: string
  oif?: string
  /** An ip-family chain that br_netfilter runs for a bridged packet. */
  viaBridge?: boolean
}

/** Returns the base chains a packet meets on its path, in the order it meets them. */
function stagesOf(ruleset: Ruleset, version: 4 | 6, o: WalkOptions): Stage[] {
  /** The chains of a hook, seeing the packet by these interfaces. */
  const seeing = (
    hook: Hook,
    chains: { table: Table; chain: Chain }[],
    iif: string | undefined,
    oif: string | undefined,
    viaBridge?: true
  ): Stage[] => chains.map(({ table, chain }) => ({ hook, table, chain, iif, oif, viaBridge }))
  if (o.path !== 'bridge') {
    const iif = o.path === 'output' ? undefined : o.iif
    const oif = o.path === 'input' ? undefined : o.oif
    return HOOKS[o.path].flatMap((hook) =>
      seeing(hook, baseChains(ruleset, hook, version), iif, oif)
    )
  }
  const out = seeing('ingress', baseChains(ruleset, 'ingress', version), o.iif, o.oif)
  for (const hook of ['prerouting', 'forward', 'postrouting'] as const) {
    const at = BRNF_PRIORITY[hook]!
    const own = seeing(
      hook,
      hookChains(ruleset, hook, (t) => t.family === 'bridge'),
      o.iif,
      o.oif
    )
    out.push(...own.filter((x) => x.chain.base!.priority <= at))
    if (o.brNetfilter !== false)
      out.push(...seeing(hook, baseChains(ruleset, hook, version), o.bridge, o.bridge, true))
    out.push(...own.filter((x) => x.chain.base!.priority > at))
  }
  out.push(...seeing('egress', baseChains(ruleset, 'egress', version), o.iif, o.oif))
  return out
}

/** Whether a packet coming in has been routed by the time it meets this hook. */
function routedAt(hook: Hook): boolean {
  return hook !== 'ingress' && hook !== 'prerouting'
}

/** What a base chain's policy decides, named as the walk names it. */
function policyOf(table: Table, chain: Chain): DecidedBy {
  return {
    kind: 'policy',
    table: table.name,
    chain: chain.name,
    line: chain.policySource?.line,
    rule: chain.policySource?.text.trim()
  }
}

type Outcome =
  | { kind: 'verdict'; verdict: 'accept' | 'drop' | 'reject'; rejectWith?: string; by: DecidedBy }
  | { kind: 'return' }
  | { kind: 'end' }

export const MAX_DEPTH = 64

/**
 * Walks a packet through the hooks its path crosses and, at each hook, every
 * base chain in priority order, as netfilter does: accept ends only the
 * current base chain, drop and reject end the packet, jumps return, gotos do
 * not, user chains fall through to their caller, policy applies at the end
 * of a base chain, and NAT chains see only a connection's first packet.
 */
export function walkNetfilter(
  ruleset: Ruleset,
  packet: PacketSpec,
  options: WalkOptions
): WalkResult {
  const ct = options.ct ?? packet.impliedCt
  const trace: TraceStep[] = []
  const uncertainWhy: string[] = []
  const ctx: MatchContext = {
    ct,
    // Each chain's stage says which interfaces it sees the packet by.
    iif: undefined,
    oif: undefined,
    src: packet.src,
    dst: packet.dst,
    sport: packet.sport,
    dport: packet.dport,
    ipsets: ruleset.ipsets,
    stateful: options.stateful,
    ttl: packet.ttl,
    mark: packet.mark,
    ctMark: packet.ctMark,
    local: options.local,
    emptySets: options.emptySets
  }
  if (options.path === 'forward' || options.path === 'bridge') ctx.socket = 'none'
  if (options.path === 'output') ctx.noMac = true
  const bridged = options.path === 'bridge'
  // -m physdev: a bridged packet's ports are the walk's in and out interfaces (unknown when not
  // given); a packet the caller knows crossed no bridge has none.
  if (packet.physIn === undefined && packet.physOut === undefined) {
    if (bridged) packet = { ...packet, physIn: options.iif, physOut: options.oif }
    else if (options.notBridged) packet = { ...packet, physIn: null, physOut: null }
  }
  const version = packet.src.version
  let finalAccept: DecidedBy | undefined
  let dnatTo: string | undefined
  /** Whether the base chain being walked runs before conntrack (where notrack takes effect). */
  let beforeConntrack = false
  let ttlDone = false
  /** Whether the routing decision's mark is taken yet (routingMark). */
  let routed = false
  let routingMark: number | undefined
  const route = (): void => {
    if (routed) return
    routed = true
    routingMark = ctx.mark
  }
  const done = (
    verdict: WalkResult['verdict'],
    by: DecidedBy | undefined,
    rejectWith?: string
  ): WalkResult => {
    if (verdict === 'accept') route()
    return {
      verdict,
      rejectWith,
      decidedBy: by,
      trace,
      uncertain: uncertainWhy.length > 0,
      uncertainWhy,
      ct: ctx.ct,
      dnatTo,
      routingMark
    }
  }
  /** Routing a forwarded packet lowers its TTL (hop limit) before the forward hook. */
  const lowerTtl = (): void => {
    ttlDone = true
    if (ctx.ttl === undefined) return
    if (ctx.ttl <= 1)
      uncertainWhy.push(
        `TTL ${ctx.ttl}: the kernel drops a forwarded packet whose TTL runs out before the forward hook`
      )
    ctx.ttl = Math.max(0, ctx.ttl - 1)
  }
  if (options.path !== 'forward') ttlDone = true
  let path = options.path
  let stages = stagesOf(ruleset, version, options)
  for (let at = 0; at < stages.length; at++) {
    const { hook, table, chain, iif, oif, viaBridge } = stages[at]
    // A packet to the host that prerouting's DNAT sent to an address not the host's own is
    // routed onwards, not delivered: the forward path from here on, as the kernel does.
    const own = path === 'input' && hook === 'input' && ctx.dnatted
    if (own && isOwnAddress(ctx.dst, options.local) === false) {
      path = 'forward'
      ttlDone = false
      ctx.socket = 'none'
      const onward = stagesOf(ruleset, version, { ...options, path: 'forward' }).filter(
        (x) => x.hook !== 'ingress' && x.hook !== 'prerouting'
      )
      stages = [...stages.slice(0, at), ...onward]
      at--
      continue
    }
    if (!ttlDone && (hook === 'forward' || hook === 'postrouting' || hook === 'egress')) lowerTtl()
    // Routing comes after prerouting (a host's own packet: after output, which reroutes it).
    if (path === 'output' ? hook === 'postrouting' || hook === 'egress' : routedAt(hook)) route()
    ctx.iif = iif
    ctx.oif = oif
    // NAT chains see a connection's first packet only (and no untracked packet).
    if (chain.base!.type === 'nat' && ctx.ct !== 'new') continue
    const fits = deviceFits(chain, ctx.iif, ctx.oif)
    if (!fits) continue
    if (fits === 'unknown')
      uncertainWhy.push(
        `${hook} chain ${table.name} ${chain.name} is for ${chain.base!.devices!.join(', ')} only: the packet's ${hook === 'ingress' ? 'in' : 'out'} interface is not known (--${hook === 'ingress' ? 'iif' : 'oif'})`
      )
    beforeConntrack = runsBeforeConntrack(chain)
    const out = runChain(table, chain, hook, 0)
    const decided = out.kind === 'verdict' ? out.by : policyOf(table, chain)
    const verdict = out.kind === 'verdict' ? out.verdict : chain.base!.policy
    if (out.kind !== 'verdict')
      trace.push({
        hook,
        table: table.name,
        chain: chain.name,
        kind: 'policy',
        line: decided.line,
        rule: decided.rule,
        matched: true,
        action: verdict
      })
    if (verdict !== 'accept') {
      // Whether the ip-family chains see a bridged packet at all is br_netfilter's to say.
      if (viaBridge && options.brNetfilter === undefined)
        uncertainWhy.push(
          `${decided.line !== undefined ? `line ${decided.line}` : `${table.name} ${chain.name}`} decides a bridged packet only if br_netfilter hands bridged packets to the ${version === 4 ? 'iptables' : 'ip6tables'} hooks (sysctl net.bridge.bridge-nf-call-${version === 4 ? 'iptables' : 'ip6tables'} = 1): no snapshot says whether it does`
        )
      return done(
        verdict === 'reject' ? 'reject' : 'drop',
        decided,
        out.kind === 'verdict' ? out.rejectWith : undefined
      )
    }
    if (isMainChain(chain, path) || !finalAccept) finalAccept = decided
  }
  if (!ttlDone && path === 'forward') lowerTtl()
  return done('accept', finalAccept)

  function runChain(table: Table, chain: Chain, hook: Hook, depth: number): Outcome {
    if (depth > MAX_DEPTH) {
      uncertainWhy.push(`chain ${chain.name}: jumps nest deeper than ${MAX_DEPTH}`)
      return { kind: 'end' }
    }
    for (let index = 0; index < chain.rules.length; index++) {
      const rule = chain.rules[index]
      const m = matchRule(rule.matches, packet, ctx)
      const step: TraceStep = {
        hook,
        table: table.name,
        chain: chain.name,
        kind: 'rule',
        line: rule.source.line,
        index,
        rule: rule.text,
        matched: m.matched
      }
      trace.push(step)
      // An undecidable condition matters only where the rule could have changed the packet's path.
      if (m.uncertain && (decisive(rule.action) || (beforeConntrack && untracks(rule))))
        uncertainWhy.push(`line ${rule.source.line}: ${m.uncertain}`)
      // A mark that may or may not have been set is no longer known.
      const sets = [
        ...(rule.marks ?? []),
        ...(rule.action.kind === 'set-mark' ? [rule.action] : [])
      ]
      if (m.uncertain) for (const s of sets) ctx[s.field === 'mark' ? 'mark' : 'ctMark'] = undefined
      if (!m.matched) {
        step.note = m.failed
        continue
      }
      const by: DecidedBy = {
        kind: 'rule',
        table: table.name,
        chain: chain.name,
        line: rule.source.line,
        index,
        rule: rule.text
      }
      for (const s of rule.marks ?? []) setMark(ctx, s)
      // Taken out of conntrack before it runs: every later chain sees the packet untracked.
      if (beforeConntrack && !options.ignoreNotrack && untracks(rule)) {
        ctx.ct = 'untracked'
        step.note = 'ct state untracked from here on'
      }
      const a = rule.action
      step.action =
        a.kind === 'jump' || a.kind === 'goto'
          ? `${a.kind} ${a.chain}`
          : a.kind === 'other' && untracks(rule)
            ? 'notrack'
            : a.kind
      switch (a.kind) {
        case 'accept':
          return { kind: 'verdict', verdict: 'accept', by }
        case 'drop':
          return { kind: 'verdict', verdict: 'drop', by }
        case 'reject':
          return { kind: 'verdict', verdict: 'reject', rejectWith: a.with, by }
        case 'return':
          return { kind: 'return' }
        case 'jump':
        case 'goto': {
          const target = table.chains.find((c) => c.name === a.chain)
          if (!target) {
            uncertainWhy.push(
              `line ${rule.source.line}: target ${a.chain} is neither a chain of ${table.name} nor a target Verdict knows`
            )
            continue
          }
          const out = runChain(table, target, hook, depth + 1)
          if (out.kind === 'verdict') return out
          if (a.kind === 'goto') return { kind: 'return' }
          continue
        }
        case 'dnat':
        case 'snat':
        case 'masquerade':
        case 'redirect':
          // A NAT target ends its chain for this packet, and the kernel rewrites it for what follows.
          if (a.kind === 'dnat' || a.kind === 'redirect') ctx.dnatted = true
          else ctx.snatted = true
          if (a.kind === 'dnat' && a.to) {
            const placed = rewriteDestination(ctx, a.to)
            dnatTo = a.to
            // Delivered to the host, or forwarded: its own addresses say (unknown without them).
            if (placed && path === 'input' && isOwnAddress(ctx.dst, options.local) === undefined)
              uncertainWhy.push(dnatUnplaced(a.to))
          }
          return { kind: 'verdict', verdict: 'accept', by }
        case 'set-mark':
          setMark(ctx, a)
          continue
        case 'queue':
          uncertainWhy.push(queueUncertainty(rule.source.line, a))
          return { kind: 'verdict', verdict: a.bypass ? 'accept' : 'drop', by }
        case 'other':
          if (a.terminal)
            uncertainWhy.push(`line ${rule.source.line}: target ${a.name} is not modelled`)
          continue
        default:
          continue
      }
    }
    return { kind: 'end' }
  }
}

/** Why a DNAT on a packet to the host leaves its path uncertain without the host's addresses. */
function dnatUnplaced(to: string): string {
  return `the DNAT sent the packet to ${to}: if that is not one of the host's own addresses, the kernel forwards it (forward chain) instead of delivering it (input chain); the host's addresses (--local, or its ip addr) decide which`
}

/**
 * Why a queued packet's fate is uncertain: a program decides it. What the walk gives is the
 * kernel's fate with no program on the queue (drop, or accept with bypass).
 */
function queueUncertainty(line: number, a: { num: string; bypass: boolean }): string {
  return `line ${line}: the packet is queued to the program reading queue ${a.num} (NFQUEUE), whose verdict it gets; ${a.bypass ? 'with bypass, when no program reads the queue the kernel accepts it' : 'when no program reads the queue the kernel drops it'}, as taken here`
}

/** MARK, CONNMARK, `meta mark set`, `ct mark set`: the new mark, or unknown when it cannot be computed. */
export function setMark(ctx: MatchContext, a: SetMark): void {
  // Without a connection there is no connection mark to set or copy.
  const noConn = ctx.ct === 'untracked' || ctx.ct === 'invalid'
  if (a.field === 'ct-mark' && noConn) return
  const key = a.field === 'mark' ? 'mark' : 'ctMark'
  const old = ctx[key]
  let next: number | undefined
  if (a.clear !== undefined) {
    const kept = a.clear >>> 0 === 0xffffffff ? 0 : old === undefined ? undefined : old & ~a.clear
    let value = kept === undefined ? undefined : (kept ^ (a.xor ?? 0)) >>> 0
    if (a.copy && value !== undefined) {
      if (a.copy.from === 'ct-mark' && noConn) return
      const from = ctx[a.copy.from === 'mark' ? 'mark' : 'ctMark']
      value = from === undefined ? undefined : (value ^ (from & a.copy.mask)) >>> 0
    }
    next = value
  }
  ctx[key] = next
}

/** Where a DNAT target (`ADDR[:PORT]`, as the rule wrote it) sends the packet. */
export function dnatDestination(to: string): { addr?: Cidr; port?: number } {
  const m = /^\[?([^\]]+?)\]?(?::(\d+)(?:-\d+)?)?$/.exec(to)
  const addr = m ? parseCidr(m[1].split('-')[0]) : undefined
  return { addr, port: m?.[2] !== undefined ? Number(m[2]) : undefined }
}

function rewriteDestination(ctx: MatchContext, to: string): boolean {
  const { addr, port } = dnatDestination(to)
  if (addr) ctx.dst = addr
  if (port !== undefined) ctx.dport = port
  return addr !== undefined
}

/** Returns whether an action can end or divert the traversal (log, counters and marks cannot). */
export function decisive(a: Rule['action']): boolean {
  return !(
    a.kind === 'log' ||
    a.kind === 'continue' ||
    a.kind === 'set-mark' ||
    (a.kind === 'other' && !a.terminal)
  )
}

/**
 * Whether a base chain runs before conntrack (raw priority on prerouting or output), where a
 * notrack takes the packet out of connection tracking.
 */
export function runsBeforeConntrack(chain: Chain): boolean {
  const b = chain.base!
  return (b.hook === 'prerouting' || b.hook === 'output') && b.priority < CONNTRACK_PRIORITY
}

/**
 * Whether a base chain sees the packet as far as devices go: a device's own chain (netdev
 * ingress or egress) only its devices' packets, and of a packet whose device is not known it
 * may or may not ('unknown'); every other chain, yes.
 */
export function deviceFits(
  chain: Chain,
  iif: string | undefined,
  oif: string | undefined
): boolean | 'unknown' {
  const devices = chain.base!.devices
  if (!devices) return true
  const dev = chain.base!.hook === 'ingress' ? iif : oif
  return dev === undefined ? 'unknown' : devices.includes(dev)
}

/** Returns the base chains on a hook for the packet's family, lowest priority first. */
export function baseChains(
  ruleset: Ruleset,
  hook: Hook,
  version: 4 | 6
): { table: Table; chain: Chain }[] {
  return hookChains(
    ruleset,
    hook,
    (table) =>
      table.family === 'inet' ||
      (table.family === 'ip' && version === 4) ||
      (table.family === 'ip6' && version === 6) ||
      (table.family === 'netdev' && (hook === 'ingress' || hook === 'egress'))
  )
}

/** Returns the base chains on a hook of the tables `applies` takes, lowest priority first. */
function hookChains(
  ruleset: Ruleset,
  hook: Hook,
  applies: (table: Table) => boolean
): { table: Table; chain: Chain }[] {
  const out: { table: Table; chain: Chain }[] = []
  for (const table of ruleset.tables) {
    if (!applies(table)) continue
    for (const chain of table.chains) if (chain.base?.hook === hook) out.push({ table, chain })
  }
  return out.sort((x, y) => x.chain.base!.priority - y.chain.base!.priority)
}

/** The filter chain on the path's own hook: its accept is the one worth naming. */
export function isMainChain(chain: Chain, path: PathKind): boolean {
  return chain.base?.type === 'filter' && chain.base.hook === path
}
