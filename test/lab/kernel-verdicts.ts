/**
 * A kernel oracle for firewall verdicts: loads a ruleset (iptables-save text or `nft list
 * ruleset` text) into a fresh network namespace, really sends each packet through it, and reads
 * the kernel's own account of what happened from `nft monitor trace`.
 *
 * How it works:
 * - Topology. `input` and `output`: the firewall host and one peer joined by a veth (the
 *   firewall's side is `eth0`). `forward`: peer A — router (the firewall; `eth0` towards A,
 *   `eth1` towards B) — peer B. Every address a case names is put on the host that owns it, as a
 *   /32 or /128, with host routes through the transit links (198.18.1.0/24, 198.18.2.0/24,
 *   fd99:1::/64, fd99:2::/64: fixtures must not use them).
 * - The traced packet goes from SRC (side A) to DST (side B). On the input path B is the
 *   firewall, on the output path A is; on the forward path A is behind `eth0`, B behind `eth1`.
 * - Conntrack states are produced, not faked: `new` is the first packet of a conversation A
 *   starts; `established` is B's conversation answered by A (SYN-ACK, UDP answer, echo reply);
 *   `related` is A's ICMP port-unreachable about a datagram B sent to a closed port; `invalid` is
 *   a SYN-ACK answering a SYN the firewall did not track (`notrack` on it); `untracked` is the
 *   packet itself with `notrack`.
 * - Tracing. After the ruleset is loaded, a table `inet vdt_oracle` adds base chains at priority
 *   -350 (before raw, -300, and conntrack, -200) on prerouting and output that set `meta nftrace`
 *   on exactly the traced packet of each case (a rule per case, named by its comment), and chains
 *   at -199 (just after conntrack) whose rules say which `ct state` the kernel gave it. The
 *   ruleset's iptables side goes in through iptables-nft, so its rules are nf_tables rules and
 *   show up in the same trace (the xt TRACE target would do the same; legacy iptables would
 *   write TRACE lines to the kernel log, which needs the global `net.netfilter.nf_log_all_netns`:
 *   never used here).
 * - Each trace line names the rule by handle (`nft -a monitor trace`); handles map to positions
 *   in their chain (`nft -j list ruleset`), positions to the ruleset file's rule lines.
 * - Two cross-checks that do not read the trace: what the host that started the conversation
 *   saw (connected, answered, RST, ICMP error, EPERM, timeout), and whether the traced packet
 *   reached the end of the receiving host's input hook (a counter at priority 1000 there).
 *
 * Which event decided: the first `drop` (a rule, a policy) ends the packet; a rule whose text
 * says `reject`/`REJECT` makes it a reject. An accepted packet is decided by the last accept in a
 * chain that could have said otherwise: chains of type `nat` and empty base chains (no rules)
 * passing the packet by their accept policy are skipped when anything else accepted it.
 */
import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { hasProgram } from '../support/run'
import { Lab, labUnavailable, sleep, type Host, type Proc } from './lab-host'

// ---------------------------------------------------------------------------------------------
// Public types

export type Path = 'input' | 'forward' | 'output'
export type CtState = 'new' | 'established' | 'related' | 'invalid' | 'untracked'
export type RulesetFormat = 'iptables' | 'nft'
export type KernelVerdictKind = 'accept' | 'drop' | 'reject'

/** One packet to send: the SPEC of `verdict trace --packet`, and how to produce it. */
export interface PacketCase {
  /** `PROTO SRC[:PORT] > DST[:PORT] [WHAT]`. */
  packet: string
  /** The conntrack state the packet must have (default: what the packet implies). */
  ct?: CtState
  /**
   * Where the packet really ends up (`ADDR[:PORT]`, IPv6 in brackets when a port follows): the
   * DNAT target, which side B owns and listens at instead of DST.
   */
  deliverTo?: string
}

/** A parsed packet SPEC. */
export interface PacketSpec {
  proto: 'tcp' | 'udp' | 'icmp' | 'icmpv6'
  src: string
  sport?: number
  dst: string
  dport?: number
  /** syn, syn-ack; echo-request, echo-reply, port-unreachable; undefined for UDP. */
  what?: string
  v6: boolean
  /** The `key=value` facts after WHAT, which the oracle makes true of the packet it sends. */
  facts: PacketFacts
}

/**
 * Facts a packet SPEC may give (`len=60 ttl=5 mark=0x1 ctmark=0x2 uid=1000 gid=1000
 * mac=02:00:00:00:0a:01`). The oracle makes each true: the sender sizes UDP and ping payloads
 * (a TCP SYN is 60 bytes, 80 in IPv6); the oracle's own chains, before every chain of the
 * ruleset, set the TTL and the mark (priority -350) and the connection mark (-199, just after
 * conntrack); the sending program runs as the uid and gid; side A's interface has the MAC.
 */
export interface PacketFacts {
  len?: number
  ttl?: number
  mark?: number
  ctmark?: number
  uid?: number
  gid?: number
  mac?: string
}

/** A rule or policy of the ruleset file. */
export interface DecidedBy {
  kind: 'rule' | 'policy'
  family: string
  table: string
  chain: string
  /** The 1-based line of the ruleset file (undefined for a policy the file never wrote). */
  line?: number
  /** The rule as written in the file; for a policy, its line (`:INPUT DROP [0:0]`, `type ...`). */
  ruleText?: string
  /** The kernel's rule handle. */
  handle?: number
}

/** One line of the kernel's trace, outside the oracle's own table. */
export interface TraceStep {
  family: string
  table: string
  chain: string
  kind: 'rule' | 'policy' | 'verdict'
  /** accept, drop, continue, return, jump NAME, goto NAME. */
  verdict: string
  handle?: number
  /** The rule as nft printed it, counter values removed. */
  text?: string
  line?: number
  /** The rule as the file wrote it. */
  source?: string
}

/** What the host that started the conversation saw. */
export interface Observation {
  /** `sender`: the traced packet's sender started it; `peer`: it answers the other side. */
  by: 'sender' | 'peer'
  outcome: 'delivered' | 'timeout' | 'refused' | 'unreachable' | 'not-permitted' | 'error'
  /** connected, reply, ECONNREFUSED, EHOSTUNREACH, ping's error line... */
  detail: string
  /**
   * Whether the traced packet reached the end of the receiving host's input hook (a counter
   * there, priority 1000): delivery itself, whatever happened to the answers.
   */
  arrived: boolean
}

/** The kernel's answer for one packet. */
export interface KernelVerdict {
  packet: string
  path: Path
  ct: CtState
  /** `untraced` when the traced packet never reached the firewall's trace hook. */
  verdict: KernelVerdictKind | 'untraced'
  decidedBy?: DecidedBy
  /** `family table chain`, in order, with jumps and returns (consecutive repeats collapsed). */
  chainsVisited: string[]
  trace: TraceStep[]
  /** The conntrack state the kernel gave the packet (read just after conntrack). */
  kernelCt?: CtState
  observed: Observation
  /** The deciding rule's packet counter after the run, when it has a counter. */
  ruleHits?: number
}

/** Interface names on the firewall host: `eth0` faces side A (input, forward), `eth1` side B. */
export const FW_IF = { a: 'eth0', b: 'eth1' } as const

/** The interfaces `verdict trace` should be told about for a path. */
export function interfacesFor(path: Path): { iif?: string; oif?: string } {
  if (path === 'input') return { iif: FW_IF.a }
  if (path === 'output') return { oif: FW_IF.a }
  return { iif: FW_IF.a, oif: FW_IF.b }
}

// ---------------------------------------------------------------------------------------------
// Availability

/** Why the oracle cannot run here, or undefined. */
export function kernelOracleUnavailable(): string | undefined {
  const lab = labUnavailable()
  if (lab) return lab
  for (const tool of ['iptables-restore', 'ip6tables-restore', 'stdbuf']) {
    if (!hasProgram(tool)) return `the firewall oracle needs ${tool}, which is not on the PATH`
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------
// Packet SPECs

const SPEC_RE = /^(tcp|udp|icmpv6|icmp)\s+(\S+)\s*>\s*(\S+)(?:\s+(.+?))?\s*$/

/** Parses `PROTO SRC[:PORT] > DST[:PORT] [WHAT]`. */
export function parsePacketSpec(spec: string): PacketSpec {
  const m = SPEC_RE.exec(spec.trim())
  if (!m) throw new Error(`bad packet spec: ${spec}`)
  const proto = m[1] as PacketSpec['proto']
  const src = endpoint(m[2], spec)
  const dst = endpoint(m[3], spec)
  if ((isIP(src.addr) === 6) !== (isIP(dst.addr) === 6))
    throw new Error(`mixed address families: ${spec}`)
  const v6 = isIP(src.addr) === 6
  const words = (m[4] ?? '')
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '')
  const facts: PacketFacts = {}
  for (const w of words.filter((x) => x.includes('='))) {
    const [k, v] = w.split('=')
    if (k === 'mac') facts.mac = v.toLowerCase()
    else if (
      ['len', 'ttl', 'mark', 'ctmark', 'uid', 'gid'].includes(k) &&
      /^(0x[0-9a-f]+|\d+)$/i.test(v)
    )
      facts[k as Exclude<keyof PacketFacts, 'mac'>] = Number(v)
    else throw new Error(`the oracle does not know the fact ${w}: ${spec}`)
  }
  let what = words.filter((x) => !x.includes('=')).join(' ') || undefined
  if (proto === 'tcp') {
    const flags: Record<string, string> = {
      syn: 'syn',
      S: 'syn',
      'syn-ack': 'syn-ack',
      'S.': 'syn-ack'
    }
    what = flags[what ?? 'syn']
    if (!what) throw new Error(`the oracle sends only syn and syn-ack TCP packets: ${spec}`)
    if (dst.port === undefined) throw new Error(`a TCP packet needs a destination port: ${spec}`)
  } else if (proto === 'udp') {
    if (what) throw new Error(`UDP takes no WHAT: ${spec}`)
    if (dst.port === undefined) throw new Error(`a UDP packet needs a destination port: ${spec}`)
  } else {
    what = what ?? 'echo-request'
    if (!['echo-request', 'echo-reply', 'port-unreachable'].includes(what))
      throw new Error(`the oracle sends echo-request, echo-reply, port-unreachable: ${spec}`)
    if ((proto === 'icmpv6') !== v6) throw new Error(`icmp is IPv4, icmpv6 IPv6: ${spec}`)
  }
  return { proto, src: src.addr, sport: src.port, dst: dst.addr, dport: dst.port, what, v6, facts }
}

/**
 * The firewall host's own addresses on a path, as `verdict trace --local` takes them: the
 * transit links (with their prefixes), loopback, and every address a case puts on its side.
 */
export function firewallAddresses(path: Path, cases: PacketCase[]): string[] {
  const out = ['127.0.0.1/8', '::1/128', `${T.one.v4}.1/24`, `${T.one.v6}1/64`]
  if (path === 'forward') return [...out, `${T.two.v4}.1/24`, `${T.two.v6}1/64`]
  for (const c of cases) {
    const spec = parsePacketSpec(c.packet)
    const owned =
      path === 'input' ? (c.deliverTo ? endpoint(c.deliverTo).addr : spec.dst) : spec.src
    const withLen = `${owned}/${spec.v6 ? 128 : 32}`
    if (!out.includes(withLen)) out.push(withLen)
  }
  return out
}

/** `ADDR`, `ADDR:PORT`, `[ADDR]`, `[ADDR]:PORT`. */
export function endpoint(text: string, spec = text): { addr: string; port?: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text)
  const v4 = /^([\d.]+)(?::(\d+))?$/.exec(text)
  const [addr, port] = bracketed
    ? [bracketed[1], bracketed[2]]
    : v4
      ? [v4[1], v4[2]]
      : [text, undefined]
  if (isIP(addr) === 0) throw new Error(`bad address in ${spec}: ${text}`)
  return { addr, port: port === undefined ? undefined : Number(port) }
}

/** The state a packet implies when `--ct` is not given. */
export function impliedCt(p: PacketSpec): CtState {
  if (p.what === 'syn-ack' || p.what === 'echo-reply') return 'established'
  if (p.what === 'port-unreachable') return 'related'
  return 'new'
}

// ---------------------------------------------------------------------------------------------
// The ruleset file's layout: which line each rule and policy is on

interface SourceText {
  line: number
  text: string
}

interface ChainSource {
  policy?: SourceText
  rules: SourceText[]
}

/** Chains by `family table chain`. */
export type RulesetLayout = Map<string, ChainSource>

const key = (family: string, table: string, chain: string): string => `${family} ${table} ${chain}`

function chainOf(layout: RulesetLayout, k: string): ChainSource {
  let c = layout.get(k)
  if (!c) {
    c = { rules: [] }
    layout.set(k, c)
  }
  return c
}

/** iptables-save text: `*table`, `:CHAIN POLICY [p:b]`, `-A CHAIN ...`, `-I CHAIN [n] ...`. */
export function iptablesLayout(text: string, family: 'ip' | 'ip6'): RulesetLayout {
  const layout: RulesetLayout = new Map()
  let table = ''
  text.split('\n').forEach((raw, i) => {
    const t = raw.trim()
    const line = i + 1
    if (!t || t.startsWith('#')) return
    if (t.startsWith('*')) {
      table = t.slice(1).trim()
      return
    }
    const decl = /^:(\S+)\s+(\S+)/.exec(t)
    if (decl) {
      const c = chainOf(layout, key(family, table, decl[1]))
      if (decl[2] !== '-') c.policy = { line, text: t }
      return
    }
    const append = /^(?:-A|--append)\s+(\S+)/.exec(t)
    if (append) {
      chainOf(layout, key(family, table, append[1])).rules.push({ line, text: t })
      return
    }
    const insert = /^(?:-I|--insert)\s+(\S+)(?:\s+(\d+)\b)?/.exec(t)
    if (insert) {
      const rules = chainOf(layout, key(family, table, insert[1])).rules
      const at = insert[2] === undefined ? 0 : Math.max(0, Number(insert[2]) - 1)
      rules.splice(Math.min(at, rules.length), 0, { line, text: t })
    }
  })
  return layout
}

/** A statement of nft's syntax: its first line, text, and a block's statements. */
interface NftStatement {
  line: number
  text: string
  body?: NftStatement[]
}

type NftContext = 'top' | 'table' | 'chain' | 'other'

/** Splits nft text into statements (newline or `;` ends one; blocks nest; `#` comments). */
function nftStatements(src: string): NftStatement[] {
  let i = 0
  let line = 1
  const n = src.length

  const skipGap = (): void => {
    while (i < n) {
      const c = src[i]
      if (c === '\n') {
        line++
        i++
      } else if (c === ' ' || c === '\t' || c === '\r' || c === ';') i++
      else if (c === '\\' && src[i + 1] === '\n') {
        i += 2
        line++
      } else if (c === '#') {
        while (i < n && src[i] !== '\n') i++
      } else break
    }
  }

  const opensBlock = (ctx: NftContext, head: string): boolean => {
    if (ctx === 'table') return true
    if (ctx !== 'top') return false
    return /^(?:(?:add|create)\s+)?(?:table|chain|set|map|flowtable|element|counter|quota|ct|limit|secmark|synproxy)\b/.test(
      head
    )
  }

  const childContext = (ctx: NftContext, head: string): NftContext => {
    if (ctx === 'top' && /^(?:(?:add|create)\s+)?table\b/.test(head)) return 'table'
    if (/^(?:(?:add|create)\s+)?chain\b/.test(head)) return 'chain'
    return 'other'
  }

  const statement = (ctx: NftContext): NftStatement => {
    const first = line
    const start = i
    let end = i
    let depth = 0
    while (i < n) {
      const c = src[i]
      if (c === '"') {
        i++
        while (i < n && src[i] !== '"') {
          if (src[i] === '\n') line++
          i++
        }
        i++
        end = i
        continue
      }
      if (c === '#') {
        while (i < n && src[i] !== '\n') i++
        continue
      }
      if (c === '\\' && src[i + 1] === '\n') {
        i += 2
        line++
        continue
      }
      if (c === '\n') {
        if (depth === 0) break
        line++
        i++
        continue
      }
      if ((c === ';' || c === '}') && depth === 0) break
      if (c === '}') {
        depth--
        i++
        end = i
        continue
      }
      if (c === '{') {
        const head = src.slice(start, i).trim()
        if (depth === 0 && opensBlock(ctx, head)) {
          i++
          return { line: first, text: head, body: block(childContext(ctx, head)) }
        }
        depth++
        i++
        end = i
        continue
      }
      i++
      if (c !== ' ' && c !== '\t' && c !== '\r') end = i
    }
    return { line: first, text: src.slice(start, end).trim() }
  }

  const block = (ctx: NftContext): NftStatement[] => {
    const out: NftStatement[] = []
    for (;;) {
      skipGap()
      if (i >= n) return out
      if (src[i] === '}') {
        i++
        if (ctx === 'top') continue
        return out
      }
      const s = statement(ctx)
      if (s.text || s.body) out.push(s)
    }
  }

  return block('top')
}

const NFT_FAMILIES = new Set(['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev'])

/** `[family] name...`: nft's default family is ip. */
function familyAnd(words: string[]): { family: string; rest: string[] } {
  if (words.length > 0 && NFT_FAMILIES.has(words[0]))
    return { family: words[0], rest: words.slice(1) }
  return { family: 'ip', rest: words }
}

const unquote = (s: string): string => s.replace(/^"(.*)"$/, '$1')

/** `nft list ruleset` text (or an `nft -f` file): block syntax and `add/insert rule` commands. */
export function nftLayout(text: string): RulesetLayout {
  const layout: RulesetLayout = new Map()
  const lines = text.split('\n')
  const chainBody = (k: string, body: NftStatement[]): void => {
    const c = chainOf(layout, k)
    for (const s of body) {
      if (/^policy\s+\S+/.test(s.text)) c.policy = { line: s.line, text: lines[s.line - 1].trim() }
      else if (/^(?:type|comment|devices?|priority)\b/.test(s.text)) continue
      else c.rules.push({ line: s.line, text: s.text })
    }
  }
  for (const s of nftStatements(text)) {
    const words = s.text.split(/\s+/)
    const table = /^(?:(?:add|create)\s+)?table\s+(.+)$/.exec(s.text)
    if (table && s.body) {
      const { family, rest } = familyAnd(table[1].split(/\s+/))
      const name = unquote(rest[0])
      for (const child of s.body) {
        const chain = /^chain\s+(\S+)/.exec(child.text)
        if (chain && child.body) chainBody(key(family, name, unquote(chain[1])), child.body)
      }
      continue
    }
    const addChain = /^(?:add|create)\s+chain\s+(.+)$/.exec(s.text)
    if (addChain) {
      const { family, rest } = familyAnd(addChain[1].split(/\s+/))
      const k = key(family, unquote(rest[0]), unquote(rest[1]))
      chainOf(layout, k)
      if (s.body) chainBody(k, s.body)
      continue
    }
    if ((words[0] === 'add' || words[0] === 'insert') && words[1] === 'rule') {
      const { family, rest } = familyAnd(words.slice(2))
      const rules = chainOf(layout, key(family, unquote(rest[0]), unquote(rest[1]))).rules
      const r = { line: s.line, text: s.text }
      if (words[0] === 'add') rules.push(r)
      else rules.unshift(r)
    }
  }
  return layout
}

// ---------------------------------------------------------------------------------------------
// The kernel's ruleset: chains, rule handles in order, counters

interface KernelChain {
  type?: string
  hook?: string
  policy?: string
  handles: number[]
  counters: Map<number, number>
}

const ORACLE_TABLE = 'vdt_oracle'

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** `nft -j list ruleset` → chains by `family table chain`, the oracle's own table left out. */
export function kernelChains(json: string): Map<string, KernelChain> {
  const parsed: unknown = JSON.parse(json)
  const items = isRecord(parsed) && Array.isArray(parsed.nftables) ? parsed.nftables : []
  const chains = new Map<string, KernelChain>()
  for (const item of items) {
    if (!isRecord(item)) continue
    const c = item.chain
    if (isRecord(c) && c.table !== ORACLE_TABLE) {
      chains.set(key(String(c.family), String(c.table), String(c.name)), {
        type: typeof c.type === 'string' ? c.type : undefined,
        hook: typeof c.hook === 'string' ? c.hook : undefined,
        policy: typeof c.policy === 'string' ? c.policy : undefined,
        handles: [],
        counters: new Map()
      })
    }
    const r = item.rule
    if (isRecord(r) && r.table !== ORACLE_TABLE) {
      const chain = chains.get(key(String(r.family), String(r.table), String(r.chain)))
      if (!chain) continue
      const handle = Number(r.handle)
      chain.handles.push(handle)
      const exprs = Array.isArray(r.expr) ? r.expr : []
      for (const e of exprs) {
        if (isRecord(e) && isRecord(e.counter) && typeof e.counter.packets === 'number')
          chain.counters.set(handle, e.counter.packets)
      }
    }
  }
  return chains
}

/** Checks that every kernel chain has as many rules as the file gives it. */
function checkLayout(layout: RulesetLayout, chains: Map<string, KernelChain>, file: string): void {
  for (const [k, chain] of chains) {
    const written = layout.get(k)?.rules.length ?? 0
    if (written !== chain.handles.length) {
      throw new Error(
        `${file}: chain ${k} has ${chain.handles.length} rules in the kernel but ${written} in ` +
          'the file as the oracle read it'
      )
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Trace parsing

interface TraceEvent {
  family: string
  table: string
  chain: string
  kind: 'packet' | 'rule' | 'policy' | 'verdict'
  verdict: string
  handle?: number
  text?: string
}

const TRACE_RE = /^trace id (\S+) (\S+) (\S+) (\S+) (packet|rule|policy|verdict)\b:?\s*(.*)$/

/** One traced packet: the trace id's lines from the oracle's first `packet:` line on. */
interface TracedPacket {
  caseIndex?: number
  ct?: CtState
  events: TraceEvent[]
}

/** Groups `nft -a monitor trace` output into traced packets (ids are reused: a group starts at
 * the oracle chain's `packet:` line). */
export function parseTrace(out: string): TracedPacket[] {
  const packets: TracedPacket[] = []
  const open = new Map<string, TracedPacket>()
  for (const line of out.split('\n')) {
    const m = TRACE_RE.exec(line.trim())
    if (!m) continue
    const [, id, family, table, chain, kind, rest] = m
    const ev: TraceEvent = { family, table, chain, kind: kind as TraceEvent['kind'], verdict: '' }
    if (kind === 'packet') {
      if (table === ORACLE_TABLE && chain.startsWith('trace_')) {
        const p: TracedPacket = { events: [] }
        packets.push(p)
        open.set(id, p)
      }
      continue
    }
    const p = open.get(id)
    if (!p) continue
    if (kind === 'rule') {
      const r = /^(.*?)(?:\s+#\s*handle\s+(\d+))?\s+\(verdict ([^)]+)\)\s*$/.exec(rest)
      if (!r) continue
      ev.text = r[1].replace(/\s*counter packets \d+ bytes \d+/g, ' counter').trim()
      ev.handle = r[2] === undefined ? undefined : Number(r[2])
      ev.verdict = r[3].trim()
    } else {
      // A packet with a mark: nft prints it after the verdict (`policy accept meta mark 0x00000025`).
      ev.verdict = rest.replace(/\s+meta mark 0x[0-9a-f]+\s*$/, '').trim()
    }
    if (table === ORACLE_TABLE) {
      const c = /comment "vdt-case-(\d+)"/.exec(ev.text ?? '')
      if (c) p.caseIndex = Number(c[1])
      const s = /^ct state (\w+)/.exec(ev.text ?? '')
      if (s && chain.startsWith('ct_')) p.ct = s[1] as CtState
    }
    p.events.push(ev)
  }
  return packets
}

const REJECT_RE = /(?:^|\s)(?:reject\b|-j\s+REJECT\b)/

/** The verdict and deciding step of one traced packet. */
export function decide(
  steps: TraceStep[],
  chains: Map<string, KernelChain>
): { verdict: KernelVerdictKind; by?: TraceStep } {
  for (const s of steps) {
    if (s.verdict === 'drop') {
      const rejects = s.kind === 'rule' && REJECT_RE.test(`${s.source ?? ''} ${s.text ?? ''}`)
      return { verdict: rejects ? 'reject' : 'drop', by: s }
    }
  }
  const accepts = steps.filter((s) => s.verdict === 'accept')
  const meaningful = accepts.filter((s) => {
    const c = chains.get(key(s.family, s.table, s.chain))
    if (c?.type === 'nat') return false
    return !(s.kind === 'policy' && c !== undefined && c.handles.length === 0)
  })
  return { verdict: 'accept', by: meaningful.at(-1) ?? accepts.at(-1) }
}

function visited(steps: TraceStep[]): string[] {
  const out: string[] = []
  const push = (k: string): void => {
    if (out.at(-1) !== k) out.push(k)
  }
  for (const s of steps) {
    push(`${s.family} ${s.table} ${s.chain}`)
    const j = /^(?:jump|goto) (\S+)$/.exec(s.verdict)
    if (j) push(`${s.family} ${s.table} ${j[1]}`)
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Programs run inside the namespaces

/** Listens on TCP and UDP (UDP answers every datagram); prints "listening" once all are bound. */
const LISTENER = `
const net = require('node:net')
const dgram = require('node:dgram')
const o = JSON.parse(process.argv[1])
let pending = o.tcp.length + o.udp.length
const ready = () => { if (--pending === 0) process.stdout.write('listening\\n') }
if (pending === 0) process.stdout.write('listening\\n')
for (const l of o.tcp) {
  const srv = net.createServer((s) => { s.on('error', () => {}); s.end() })
  srv.listen(l.port, l.host, ready)
}
for (const l of o.udp) {
  const u = dgram.createSocket(l.host.includes(':') ? 'udp6' : 'udp4')
  u.on('error', () => {})
  u.on('message', (m, from) => u.send(m, from.port, from.address))
  u.bind(l.port, l.host, ready)
}
`

/** Runs every action at once; prints one JSON object: results by action id. */
const DRIVER = `
const net = require('node:net')
const dgram = require('node:dgram')
const { execFile } = require('node:child_process')
const o = JSON.parse(process.argv[1])
const results = {}
const classify = (code) => {
  if (code === 'ECONNREFUSED') return 'refused'
  if (['EHOSTUNREACH', 'ENETUNREACH', 'EACCES', 'EHOSTDOWN', 'ENONET', 'EPROTO'].includes(code)) return 'unreachable'
  if (code === 'EPERM') return 'not-permitted'
  return 'error'
}
const tasks = o.actions.map((a) => new Promise((done) => {
  const finish = (outcome, detail) => {
    if (results[a.id]) return
    results[a.id] = { outcome, detail }
    done()
  }
  if (a.kind === 'tcp') {
    const s = net.connect({ host: a.host, port: a.port, localAddress: a.localAddress, localPort: a.localPort })
    const t = setTimeout(() => { finish('timeout', 'no answer'); s.destroy() }, o.tcpWaitMs)
    s.on('connect', () => { clearTimeout(t); finish('delivered', 'connected'); s.destroy() })
    s.on('error', (e) => { clearTimeout(t); finish(classify(e.code), String(e.code)) })
  } else if (a.kind === 'udp') {
    const s = dgram.createSocket(a.host.includes(':') ? 'udp6' : 'udp4')
    let closed = false
    const end = (outcome, detail) => {
      clearTimeout(t)
      finish(outcome, detail)
      if (!closed) { closed = true; s.close() }
    }
    // A send refused locally (EPERM: dropped or rejected in OUTPUT) may still be followed by the
    // ICMP error a local reject sends back: wait for it.
    let refusedLocally = false
    const t = setTimeout(() => {
      if (refusedLocally) end('not-permitted', 'EPERM')
      else end('timeout', 'no answer')
    }, o.waitMs)
    s.on('error', (e) => {
      const c = classify(e.code)
      if (a.wantError && (c === 'refused' || c === 'unreachable')) end('delivered', String(e.code))
      else end(c, String(e.code))
    })
    s.on('message', () => end(a.wantError ? 'error' : 'delivered', 'reply'))
    s.bind(a.localPort, a.localAddress, () => {
      s.connect(a.port, a.host, (e) => {
        if (e) return end(classify(e.code), String(e.code))
        s.send(a.size === undefined ? 'vdt' : 'v'.repeat(a.size), (e2) => {
          if (e2 && e2.code === 'EPERM') refusedLocally = true
          else if (e2) end(classify(e2.code), String(e2.code))
        })
      })
    })
  } else {
    const args = ['-n', '-c', '1', '-W', '1', '-I', a.localAddress, a.host]
    if (a.size !== undefined) args.unshift('-s', String(a.size))
    if (a.host.includes(':')) args.unshift('-6')
    execFile('ping', args, { timeout: o.waitMs + 3000 }, (err, stdout, stderr) => {
      const text = String(stdout) + String(stderr)
      if (/[1-9]\\d* (?:packets )?received/.test(text)) return finish('delivered', 'reply')
      if (/not permitted/i.test(text)) return finish('not-permitted', 'EPERM')
      const bad = /(Destination [^\\n]*|Packet filtered[^\\n]*|[^\\n]*[Pp]rohibited[^\\n]*)/.exec(text)
      if (bad) return finish(/Port Unreachable/i.test(bad[1]) ? 'refused' : 'unreachable', bad[1].trim())
      finish('timeout', 'no answer')
    })
  }
}))
Promise.all(tasks).then(() => process.stdout.write(JSON.stringify(results) + '\\n'))
`

/** Sends a datagram to 127.0.0.1:9 every 50 ms: the oracle's trace readiness probe. */
const READY_PROBE = `
const s = require('node:dgram').createSocket('udp4')
s.on('error', () => {})
setInterval(() => s.send('ready', 9, '127.0.0.1', () => {}), 50)
`

interface Action {
  id: number
  kind: 'tcp' | 'udp' | 'ping'
  localAddress: string
  localPort?: number
  host: string
  port?: number
  /** UDP to a closed port: the ICMP error coming back is the traced packet arriving. */
  wantError?: boolean
  /** Payload bytes of a UDP datagram or an echo request (default: 3, and ping's 56). */
  size?: number
  /** The user and group the sending program runs as (default root). */
  owner?: { uid: number; gid: number }
}

interface DriverResult {
  outcome: Observation['outcome']
  detail: string
}

// ---------------------------------------------------------------------------------------------
// One case's plan

interface Plan {
  index: number
  c: PacketCase
  spec: PacketSpec
  ct: CtState
  /** The traced packet's sender (A) starts the conversation. */
  aStarts: boolean
  /** Addresses A and B own. */
  aAddr: string
  bAddr: string
  /** What B listens on (TCP/UDP) for A's conversations, or A for B's. */
  listen?: { side: 'a' | 'b'; proto: 'tcp' | 'udp'; host: string; port: number }
  action: Action
  actionSide: 'a' | 'b'
  /** nft match of the traced packet. */
  match: string
  /** nft match of the traced packet where it arrives (after DNAT and masquerade: no source). */
  seenMatch: string
  /** nft match of a packet to notrack at the firewall before the traced one (ct invalid). */
  notrackFirst?: { match: string; hook: 'pre' | 'out' }
  /** Statements the oracle's trace rule applies to the packet (`ip ttl set 5 meta mark set 1`). */
  sets: string
}

/** The traced packet as it arrives: translated destination, any source, when DNAT is expected. */
function seenMatch(p: Plan): string {
  if (!p.c.deliverTo) return p.match
  const d = endpoint(p.c.deliverTo)
  const l3 = p.spec.v6 ? `ip6 daddr ${d.addr}` : `ip daddr ${d.addr}`
  const proto = p.spec.proto
  if (proto === 'tcp')
    return `${l3} tcp dport ${d.port ?? p.spec.dport} tcp flags & (syn | ack) == syn`
  if (proto === 'udp') return `${l3} udp dport ${d.port ?? p.spec.dport}`
  return `${l3} meta l4proto ${proto === 'icmp' ? 'icmp' : 'ipv6-icmp'}`
}

function plan(index: number, c: PacketCase, fwIsB: boolean): Plan {
  const p = basePlan(index, c, fwIsB)
  const f = p.spec.facts
  const about = (why: string): Error => new Error(`${c.packet}: ${why}`)
  const sets: string[] = []
  if (f.ttl !== undefined) sets.push(`${p.spec.v6 ? 'ip6 hoplimit' : 'ip ttl'} set ${f.ttl}`)
  if (f.mark !== undefined) sets.push(`meta mark set ${f.mark}`)
  p.sets = sets.map((x) => ` ${x}`).join('')
  if (f.len !== undefined) {
    const ip = p.spec.v6 ? 40 : 20
    if (p.action.kind === 'tcp') {
      if (p.spec.what !== 'syn' || f.len !== ip + 40)
        throw about(
          `the oracle's TCP SYN is ${ip + 40} bytes (len=${ip + 40}); it sends no other TCP length`
        )
    } else if (p.action.wantError) throw about('the oracle cannot size an ICMP error')
    else {
      p.action.size = f.len - ip - 8
      if (p.action.size < 0) throw about(`len=${f.len} is shorter than the headers`)
    }
  }
  if (f.uid !== undefined || f.gid !== undefined) {
    if (p.action.kind === 'ping' || p.actionSide !== 'a' || !p.aStarts)
      throw about('uid/gid: the oracle runs as that user only a TCP or UDP sender that starts')
    p.action.owner = { uid: f.uid ?? 0, gid: f.gid ?? 0 }
  }
  return p
}

function basePlan(index: number, c: PacketCase, fwIsB: boolean): Plan {
  const spec = parsePacketSpec(c.packet)
  const ct = c.ct ?? impliedCt(spec)
  const sport = spec.sport ?? 41000 + index
  const dport = spec.dport
  const deliver = c.deliverTo ? endpoint(c.deliverTo) : undefined
  const bAddr = deliver?.addr ?? spec.dst
  const bPort = deliver?.port ?? dport
  const l3 = spec.v6
    ? `ip6 saddr ${spec.src} ip6 daddr ${spec.dst}`
    : `ip saddr ${spec.src} ip daddr ${spec.dst}`
  const icmp = spec.v6 ? 'icmpv6' : 'icmp'
  const id = index
  const supported = (states: CtState[]): void => {
    if (!states.includes(ct))
      throw new Error(`${c.packet}: the oracle cannot give this packet ct state ${ct}`)
  }
  const base = { index, c, spec, ct, aAddr: spec.src, bAddr, seenMatch: '', sets: '' }

  if (spec.proto === 'tcp' && spec.what === 'syn') {
    supported(['new', 'untracked'])
    return {
      ...base,
      aStarts: true,
      listen: { side: 'b', proto: 'tcp', host: bAddr, port: bPort ?? 0 },
      action: {
        id,
        kind: 'tcp',
        localAddress: spec.src,
        localPort: sport,
        host: spec.dst,
        port: dport
      },
      actionSide: 'a',
      match: `${l3} tcp sport ${sport} tcp dport ${dport} tcp flags & (syn | ack) == syn`
    }
  }
  if (spec.proto === 'tcp') {
    supported(['established', 'invalid', 'untracked'])
    if (spec.sport === undefined) throw new Error(`${c.packet}: a SYN-ACK needs its source port`)
    const synMatch = spec.v6
      ? `ip6 saddr ${spec.dst} ip6 daddr ${spec.src}`
      : `ip saddr ${spec.dst} ip daddr ${spec.src}`
    return {
      ...base,
      aStarts: false,
      listen: { side: 'a', proto: 'tcp', host: spec.src, port: sport },
      action: {
        id,
        kind: 'tcp',
        localAddress: spec.dst,
        localPort: dport,
        host: spec.src,
        port: sport
      },
      actionSide: 'b',
      match: `${l3} tcp sport ${sport} tcp dport ${dport} tcp flags & (syn | ack) == syn | ack`,
      notrackFirst:
        ct === 'invalid'
          ? {
              match: `${synMatch} tcp sport ${dport} tcp dport ${sport} tcp flags & (syn | ack) == syn`,
              hook: fwIsB ? 'out' : 'pre'
            }
          : undefined
    }
  }
  if (spec.proto === 'udp') {
    supported(['new', 'established', 'untracked'])
    const match = `${l3} udp sport ${sport} udp dport ${dport}`
    if (ct === 'established') {
      if (spec.sport === undefined) throw new Error(`${c.packet}: an answer needs its source port`)
      return {
        ...base,
        aStarts: false,
        listen: { side: 'a', proto: 'udp', host: spec.src, port: sport },
        action: {
          id,
          kind: 'udp',
          localAddress: spec.dst,
          localPort: dport,
          host: spec.src,
          port: sport
        },
        actionSide: 'b',
        match
      }
    }
    return {
      ...base,
      aStarts: true,
      listen: { side: 'b', proto: 'udp', host: bAddr, port: bPort ?? 0 },
      action: {
        id,
        kind: 'udp',
        localAddress: spec.src,
        localPort: sport,
        host: spec.dst,
        port: dport
      },
      actionSide: 'a',
      match
    }
  }
  if (spec.what === 'echo-request') {
    supported(['new', 'untracked'])
    return {
      ...base,
      aStarts: true,
      action: { id, kind: 'ping', localAddress: spec.src, host: spec.dst },
      actionSide: 'a',
      match: `${l3} ${icmp} type echo-request`
    }
  }
  if (spec.what === 'echo-reply') {
    supported(['established', 'untracked'])
    return {
      ...base,
      aStarts: false,
      action: { id, kind: 'ping', localAddress: spec.dst, host: spec.src },
      actionSide: 'b',
      match: `${l3} ${icmp} type echo-reply`
    }
  }
  supported(['related', 'untracked'])
  // B sends a datagram to a port nobody listens on at A; A's kernel answers port unreachable.
  return {
    ...base,
    aStarts: false,
    action: {
      id,
      kind: 'udp',
      localAddress: spec.dst,
      localPort: 45000 + index,
      host: spec.src,
      port: 46000 + index,
      wantError: true
    },
    actionSide: 'b',
    match: `${l3} ${icmp} type destination-unreachable`
  }
}

// ---------------------------------------------------------------------------------------------
// Topology

interface Side {
  host: Host
  /** The address of the next hop towards the other side. */
  gw4: string
  gw6: string
}

interface Topology {
  fw: Host
  a: Side
  b: Side
  /** Forward path: the router's next hops towards A and B. */
  router?: { toA: Side; toB: Side }
}

const T = {
  one: { v4: '198.18.1', v6: 'fd99:1::' },
  two: { v4: '198.18.2', v6: 'fd99:2::' }
}

async function makeHost(lab: Lab, name: string, router = false): Promise<Host> {
  const h = await lab.host(name, { ipv6: true, router })
  await h.sysctl('net.ipv4.conf.all.rp_filter', 0)
  await h.sysctl('net.ipv4.conf.default.rp_filter', 0)
  return h
}

async function topology(lab: Lab, path: Path): Promise<Topology> {
  const end = (host: Host, dev: string, net: { v4: string; v6: string }, n: number) => ({
    host,
    dev,
    v4: `${net.v4}.${n}/24`,
    v6: `${net.v6}${n}/64`
  })
  if (path === 'forward') {
    const [left, fw, right] = await Promise.all([
      makeHost(lab, 'a'),
      makeHost(lab, 'fw', true),
      makeHost(lab, 'b')
    ])
    await lab.link(end(left, 'eth0', T.one, 2), end(fw, FW_IF.a, T.one, 1))
    await lab.link(end(fw, FW_IF.b, T.two, 1), end(right, 'eth0', T.two, 2))
    return {
      fw,
      a: { host: left, gw4: `${T.one.v4}.1`, gw6: `${T.one.v6}1` },
      b: { host: right, gw4: `${T.two.v4}.1`, gw6: `${T.two.v6}1` },
      router: {
        toA: { host: fw, gw4: `${T.one.v4}.2`, gw6: `${T.one.v6}2` },
        toB: { host: fw, gw4: `${T.two.v4}.2`, gw6: `${T.two.v6}2` }
      }
    }
  }
  const [fw, peer] = await Promise.all([makeHost(lab, 'fw'), makeHost(lab, 'peer')])
  await lab.link(end(fw, FW_IF.a, T.one, 1), end(peer, 'eth0', T.one, 2))
  const fwSide = { host: fw, gw4: `${T.one.v4}.2`, gw6: `${T.one.v6}2` }
  const peerSide = { host: peer, gw4: `${T.one.v4}.1`, gw6: `${T.one.v6}1` }
  return path === 'input' ? { fw, a: peerSide, b: fwSide } : { fw, a: fwSide, b: peerSide }
}

async function own(host: Host, addrs: Iterable<string>): Promise<void> {
  for (const a of addrs) {
    if (isIP(a) === 6) await host.ip('-6', 'addr', 'add', `${a}/128`, 'dev', 'eth0', 'nodad')
    else await host.ip('addr', 'add', `${a}/32`, 'dev', 'eth0')
  }
}

async function routes(side: Side, dev: string, addrs: Iterable<string>): Promise<void> {
  for (const a of addrs) {
    if (isIP(a) === 6)
      await side.host.ip('-6', 'route', 'add', `${a}/128`, 'via', side.gw6, 'dev', dev)
    else await side.host.ip('route', 'add', `${a}/32`, 'via', side.gw4, 'dev', dev)
  }
}

// ---------------------------------------------------------------------------------------------
// The oracle

/** Options of one run. */
export interface OracleOptions {
  /** How long a UDP sender waits for an answer or an ICMP error (default 900 ms). */
  waitMs?: number
  /**
   * How long a TCP client waits (default 1.6 s: past the first SYN retransmission at 1 s). An
   * ICMP error that comes back while connect() still holds the socket (a veth round trip can
   * complete inside the system call) is only a soft error; the connection fails at the next
   * one, answering the retransmitted SYN.
   */
  tcpWaitMs?: number
}

/**
 * Loads the ruleset into a fresh firewall namespace, sends every packet (all at once), and
 * returns the kernel's verdict for each, in order. Throws when the set-up fails; a packet that
 * never reached the trace hook comes back as `untraced`.
 */
export async function kernelVerdicts(
  rulesetPath: string,
  format: RulesetFormat,
  packets: PacketCase[],
  path: Path,
  opts: OracleOptions = {}
): Promise<KernelVerdict[]> {
  const waitMs = opts.waitMs ?? 900
  const tcpWaitMs = opts.tcpWaitMs ?? 1_600
  const text = readFileSync(rulesetPath, 'utf8')
  const plans = packets.map((c, i) => plan(i, c, path === 'input'))
  for (const p of plans) p.seenMatch = seenMatch(p)
  validate(plans)
  const v6 = plans.some((p) => p.spec.v6)
  if (format === 'iptables' && v6 && plans.some((p) => !p.spec.v6))
    throw new Error(`${rulesetPath}: an iptables-save file is one family; the packets mix both`)
  const family = v6 ? 'ip6' : 'ip'
  const layout = format === 'nft' ? nftLayout(text) : iptablesLayout(text, family)

  const lab = new Lab()
  try {
    const topo = await topology(lab, path)
    const aAddrs = new Set(plans.map((p) => p.aAddr))
    const bAddrs = new Set(plans.map((p) => p.bAddr))
    const dsts = new Set(plans.map((p) => p.spec.dst))
    const macs = new Set(plans.flatMap((p) => (p.spec.facts.mac ? [p.spec.facts.mac] : [])))
    if (macs.size > 1)
      throw new Error(`${rulesetPath}: side A has one MAC; the cases give ${[...macs].join(', ')}`)
    if (macs.size === 1) {
      if (path === 'output')
        throw new Error(`${rulesetPath}: a packet made on the firewall has no source MAC`)
      await topo.a.host.ip('link', 'set', 'dev', 'eth0', 'address', [...macs][0])
    }
    await own(topo.a.host, aAddrs)
    await own(topo.b.host, bAddrs)
    await routes(topo.a, 'eth0', new Set([...dsts, ...bAddrs]))
    await routes(topo.b, 'eth0', aAddrs)
    if (topo.router) {
      await routes(topo.router.toA, FW_IF.a, aAddrs)
      await routes(topo.router.toB, FW_IF.b, bAddrs)
    }

    // The ruleset, then the kernel's view of it.
    const fw = topo.fw
    if (format === 'nft') await fw.must('nft', ['-f', rulesetPath])
    else await fw.must(v6 ? 'ip6tables-restore' : 'iptables-restore', [rulesetPath])
    const before = kernelChains(await fw.must('nft', ['-j', 'list', 'ruleset']))
    checkLayout(layout, before, rulesetPath)

    // The oracle's table: trace and notrack rules before conntrack, ct probes after it.
    const traceHook = path === 'output' ? 'out' : 'pre'
    const rules: string[] = []
    const add = (chain: string, rule: string): void => {
      rules.push(`add rule inet ${ORACLE_TABLE} ${chain} ${rule}`)
    }
    for (const p of plans) {
      if (p.notrackFirst) add(`trace_${p.notrackFirst.hook}`, `${p.notrackFirst.match} notrack`)
      const notrack = p.ct === 'untracked' ? ' notrack' : ''
      add(
        `trace_${traceHook}`,
        `${p.match}${p.sets} meta nftrace set 1${notrack} comment "vdt-case-${p.index}"`
      )
    }
    add('trace_out', 'ip daddr 127.0.0.1 udp dport 9 meta nftrace set 1 comment "vdt-ready"')
    // The connection mark, once conntrack has given the packet its connection.
    for (const p of plans)
      if (p.spec.facts.ctmark !== undefined)
        add(`ct_${traceHook}`, `${p.match} ct mark set ${p.spec.facts.ctmark}`)
    for (const hook of ['pre', 'out']) {
      for (const s of ['new', 'established', 'related', 'invalid', 'untracked'])
        add(`ct_${hook}`, `ct state ${s} counter`)
    }
    await fw.nft(
      [
        `table inet ${ORACLE_TABLE} {`,
        '  chain trace_pre { type filter hook prerouting priority -350; policy accept; }',
        '  chain trace_out { type filter hook output priority -350; policy accept; }',
        '  chain ct_pre { type filter hook prerouting priority -199; policy accept; }',
        '  chain ct_out { type filter hook output priority -199; policy accept; }',
        '}',
        ...rules,
        ''
      ].join('\n')
    )
    // Where each traced packet arrives: a counter after every other input chain of side B.
    await topo.b.host.nft(
      [
        `table inet ${ORACLE_TABLE} {`,
        '  chain seen_in { type filter hook input priority 1000; policy accept; }',
        '}',
        ...plans.map(
          (p) =>
            `add rule inet ${ORACLE_TABLE} seen_in ${p.seenMatch} counter comment "vdt-seen-${p.index}"`
        ),
        ''
      ].join('\n')
    )

    // The monitor, ready once it has shown a probe packet.
    const monitor = fw.spawn('stdbuf', ['-oL', 'nft', '-a', 'monitor', 'trace'])
    const probe = fw.spawn(process.execPath, ['-e', READY_PROBE])
    try {
      await monitor.waitFor(/vdt-ready/, `nft monitor trace in ${fw.ns}`, 10_000)
    } finally {
      await probe.stop('SIGKILL')
    }

    // Listeners, then every conversation at once.
    const listeners = (side: 'a' | 'b'): { tcp: Endpoint[]; udp: Endpoint[] } => {
      const tcp = new Map<string, Endpoint>()
      const udp = new Map<string, Endpoint>()
      for (const p of plans) {
        if (!p.listen || p.listen.side !== side) continue
        const e = { host: p.listen.host, port: p.listen.port }
        ;(p.listen.proto === 'tcp' ? tcp : udp).set(`${e.host} ${e.port}`, e)
      }
      return { tcp: [...tcp.values()], udp: [...udp.values()] }
    }
    const started: Proc[] = []
    for (const [side, host] of [
      ['a', topo.a.host],
      ['b', topo.b.host]
    ] as const) {
      const l = listeners(side)
      if (l.tcp.length + l.udp.length === 0) continue
      const proc = host.spawn(process.execPath, ['-e', LISTENER, JSON.stringify(l)])
      started.push(proc)
      await proc.waitFor(/listening/, `listeners in ${host.ns}`)
    }
    const drive = async (side: 'a' | 'b', host: Host): Promise<Record<string, DriverResult>> => {
      const all = plans.filter((p) => p.actionSide === side).map((p) => p.action)
      // One driver per user the actions run as (root, or the case's uid and gid).
      const owners = new Map<string, Action[]>()
      for (const a of all) {
        const k = a.owner ? `${a.owner.uid}:${a.owner.gid}` : ''
        owners.set(k, [...(owners.get(k) ?? []), a])
      }
      const results = await Promise.all(
        [...owners].map(async ([owner, actions]) => {
          const node = [
            process.execPath,
            '-e',
            DRIVER,
            JSON.stringify({ actions, waitMs, tcpWaitMs })
          ]
          const [uid, gid] = owner.split(':')
          const ran = owner
            ? await host.exec(
                'setpriv',
                [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', ...node],
                tcpWaitMs + 20_000
              )
            : await host.exec(node[0], node.slice(1), tcpWaitMs + 20_000)
          if (ran.code !== 0) throw new Error(`driver in ${host.ns} failed: ${ran.stderr.trim()}`)
          return JSON.parse(ran.stdout) as Record<string, DriverResult>
        })
      )
      return Object.assign({}, ...results) as Record<string, DriverResult>
    }
    const [fromA, fromB] = await Promise.all([drive('a', topo.a.host), drive('b', topo.b.host)])
    await sleep(300)
    await monitor.stop('SIGTERM')
    await Promise.all(started.map((p) => p.stop('SIGTERM')))

    const after = kernelChains(await fw.must('nft', ['-j', 'list', 'ruleset']))
    const arrived = seenCounters(
      await topo.b.host.must('nft', ['-j', 'list', 'table', 'inet', ORACLE_TABLE])
    )
    const traced = parseTrace(monitor.stdout)
    return plans.map((p) => {
      const seen = (p.actionSide === 'a' ? fromA : fromB)[String(p.index)]
      const observed: Observation = {
        by: p.aStarts ? 'sender' : 'peer',
        outcome: seen?.outcome ?? 'error',
        detail: seen?.detail ?? 'the driver reported nothing',
        arrived: (arrived.get(p.index) ?? 0) > 0
      }
      const t = traced.find((x) => x.caseIndex === p.index)
      const base = { packet: p.c.packet, path, ct: p.ct, observed }
      if (!t) return { ...base, verdict: 'untraced', chainsVisited: [], trace: [] }
      const steps = t.events
        .filter((e) => e.table !== ORACLE_TABLE)
        .map((e) => toStep(e, before, layout))
      const { verdict, by } = decide(steps, before)
      return {
        ...base,
        verdict,
        decidedBy: by ? decidedBy(by) : undefined,
        chainsVisited: visited(steps),
        trace: steps,
        kernelCt: t.ct,
        ruleHits:
          by?.handle === undefined
            ? undefined
            : after.get(key(by.family, by.table, by.chain))?.counters.get(by.handle)
      }
    })
  } finally {
    await lab.close()
  }
}

interface Endpoint {
  host: string
  port: number
}

/** Packets counted by the `vdt-seen-N` rules, by case index. */
function seenCounters(json: string): Map<number, number> {
  const out = new Map<number, number>()
  const parsed: unknown = JSON.parse(json)
  const items = isRecord(parsed) && Array.isArray(parsed.nftables) ? parsed.nftables : []
  for (const item of items) {
    if (!isRecord(item) || !isRecord(item.rule)) continue
    const c = /^vdt-seen-(\d+)$/.exec(String(item.rule.comment ?? ''))
    const exprs = Array.isArray(item.rule.expr) ? item.rule.expr : []
    for (const e of exprs) {
      if (c && isRecord(e) && isRecord(e.counter) && typeof e.counter.packets === 'number')
        out.set(Number(c[1]), e.counter.packets)
    }
  }
  return out
}

function validate(plans: Plan[]): void {
  const a = new Set(plans.map((p) => p.aAddr))
  for (const p of plans) {
    if (a.has(p.bAddr)) throw new Error(`${p.c.packet}: ${p.bAddr} would be on both sides`)
  }
  const seen = new Map<string, string>()
  for (const p of plans) {
    const other = seen.get(p.match)
    if (other) throw new Error(`${p.c.packet} and ${other} cannot be told apart in the trace`)
    seen.set(p.match, p.c.packet)
  }
}

function toStep(e: TraceEvent, chains: Map<string, KernelChain>, layout: RulesetLayout): TraceStep {
  const step: TraceStep = {
    family: e.family,
    table: e.table,
    chain: e.chain,
    kind: e.kind === 'packet' ? 'verdict' : e.kind,
    verdict: e.verdict,
    handle: e.handle,
    text: e.text
  }
  const k = key(e.family, e.table, e.chain)
  if (e.kind === 'rule' && e.handle !== undefined) {
    const at = chains.get(k)?.handles.indexOf(e.handle) ?? -1
    const src = at >= 0 ? layout.get(k)?.rules[at] : undefined
    if (src) {
      step.line = src.line
      step.source = src.text
    }
  } else if (e.kind === 'policy') {
    const src = layout.get(k)?.policy
    if (src) {
      step.line = src.line
      step.source = src.text
    }
  }
  return step
}

function decidedBy(s: TraceStep): DecidedBy {
  return {
    kind: s.kind === 'policy' ? 'policy' : 'rule',
    family: s.family,
    table: s.table,
    chain: s.chain,
    line: s.line,
    ruleText: s.source,
    handle: s.handle
  }
}

/** Whether what the endpoint saw agrees with the kernel's verdict. */
export function observationAgrees(v: KernelVerdict): boolean {
  const { outcome: o, arrived, by } = v.observed
  // Accepted: it arrived (its answers may still be dropped: that is another packet's verdict).
  if (v.verdict === 'accept') return arrived
  if (arrived) return false
  if (v.verdict === 'drop') return o === 'timeout' || o === 'not-permitted'
  if (v.verdict === 'reject') {
    // A rejected answer sends its error to the answering side, which is not watching.
    if (by === 'peer') return o === 'timeout'
    return o === 'refused' || o === 'unreachable'
  }
  return false
}
