/**
 * What the nft rule reader works with: a cursor over one rule's tokens, the
 * builder that collects the rule's Matches and statements, and the table's
 * named sets the rule may look up.
 */

import type { Action, Family, Match, SetMark } from './model'
import { endsStatement, isPunct, isWord, type Token } from './read-nft-tokens'
import { familyMatch } from './read-nft-values'
import { append } from '../../shared/append'

/** A set or map declared in a table: `set NAME { type ...; flags ...; elements = { ... } }`. */
export interface NftSet {
  name: string
  map: boolean
  /** Its key is a concatenation (`type ipv4_addr . inet_service`, `typeof ip saddr . tcp dport`). */
  concat: boolean
  flags: string[]
  elements: Elem[]
  line: number
}

/** One element of a set (`10.0.0.0/8`) or map (`22 : accept`), without its per-element statements. */
export interface Elem {
  key: Token[]
  value?: Token[]
}

/** What a rule is read against. */
export interface RuleContext {
  /** The whole file, for cutting expressions' text as written. */
  text: string
  family: Family
  sets: Map<string, NftSet>
  /** Sets whose contents change with traffic (`flags dynamic`/`timeout`, or `add @set` in a rule). */
  dynamicSets: Set<string>
  /** Reports a `@name` that is not a set or map of the table. */
  missingSet: (name: string, at: Token) => void
}

/** One way a rule can match: the Matches it adds and, for a verdict map, the verdict it leads to. */
export interface Alternative {
  matches: Match[]
  action?: Action
}

/** A set or verdict map the rule expands over: each expanded rule takes one alternative. */
export interface Group {
  alternatives: Alternative[]
  /** The expression as written, kept as an unmodelled Match if the expansion would be too large. */
  name: string
  text: string
}

/** Statement keywords: an expression never contains them outside braces, so they end an unread one. */
export const STOP = new Set([
  'accept',
  'drop',
  'reject',
  'continue',
  'return',
  'jump',
  'goto',
  'queue',
  'counter',
  'log',
  'limit',
  'quota',
  'comment',
  'dnat',
  'snat',
  'masquerade',
  'redirect',
  'tproxy',
  'notrack',
  'dup',
  'fwd',
  'synproxy',
  'flow',
  'add',
  'update',
  'delete',
  'meter',
  'last'
])

export class Cursor {
  constructor(
    readonly toks: Token[],
    readonly ctx: RuleContext,
    public i = 0
  ) {}
  get end(): boolean {
    return this.i >= this.toks.length
  }
  peek(k = 0): Token | undefined {
    return this.toks[this.i + k]
  }
  next(): Token {
    return this.toks[this.i++]
  }
  /** The word at the cursor (plus k), or undefined for anything else. */
  word(k = 0): string | undefined {
    const t = this.peek(k)
    return t?.kind === 'word' ? t.text : undefined
  }
  /** The tokens from..to (exclusive) as written in the file, on one line. */
  text(from: number, to = this.i): string {
    if (to <= from) return ''
    const raw = this.ctx.text.slice(this.toks[from].start, this.toks[to - 1].end)
    return raw.replace(/\s*\n\s*/g, ' ')
  }
  /** Skips one value: a word, a string, or a balanced `{...}` / `(...)` group. */
  skipAtom(): void {
    const t = this.next()
    if (isPunct(t, '{') || isPunct(t, '(')) {
      let depth = 1
      while (!this.end && depth > 0) {
        const u = this.next()
        if (isPunct(u, '{') || isPunct(u, '(')) depth++
        if (isPunct(u, '}') || isPunct(u, ')')) depth--
      }
    }
  }
  /** Reads one value (`10.0.0.1`, `"eth0"`, `(syn|ack)`, `1 - 5`), or undefined at the end. */
  atom(): Token[] | undefined {
    const t = this.peek()
    if (!t || endsStatement(t) || isPunct(t, '}') || isPunct(t, ',')) return undefined
    const from = this.i
    this.skipAtom()
    if (isWord(this.peek(), '-') && this.peek(1) && !endsStatement(this.peek(1))) {
      this.next()
      this.skipAtom()
    }
    return this.toks.slice(from, this.i)
  }
  /** Reads a `{ ... }` group and returns its elements. */
  set(): Elem[] {
    const from = this.i
    this.skipAtom()
    return splitElems(this.toks.slice(from + 1, this.i - 1))
  }
}

/** Words that start an element's own statements (`10.0.0.1 counter packets 1 bytes 2 timeout 1s`). */
const ELEMENT_STATEMENTS = new Set([
  'counter',
  'timeout',
  'expires',
  'comment',
  'limit',
  'quota',
  'ct',
  'last'
])

/** Splits the tokens inside set braces into elements; nested sets (from variables) are flattened. */
export function splitElems(toks: Token[]): Elem[] {
  const out: Elem[] = []
  let cur: Token[] = []
  let depth = 0
  const flush = (): void => {
    if (cur.length === 0) return
    if (isPunct(cur[0], '{') && isPunct(cur[cur.length - 1], '}'))
      append(out, splitElems(cur.slice(1, -1)))
    else {
      const e = element(cur)
      if (e.key.length > 0) out.push(e)
    }
    cur = []
  }
  for (const t of toks) {
    if (t.kind === 'nl') continue
    if (isPunct(t, '{') || isPunct(t, '(')) depth++
    if (isPunct(t, '}') || isPunct(t, ')')) depth--
    if (depth === 0 && isPunct(t, ',')) flush()
    else cur.push(t)
  }
  flush()
  return out
}

function element(toks: Token[]): Elem {
  let colon = toks.findIndex((t) => isWord(t, ':'))
  let key = colon < 0 ? toks : toks.slice(0, colon)
  let value = colon < 0 ? undefined : toks.slice(colon + 1)
  if (colon < 0 && toks.length > 1 && toks[0].kind !== 'punct') {
    // `22: accept` written without a space before the colon.
    colon = toks.findIndex((t) => t.kind === 'word' && t.text.endsWith(':') && t.text.length > 1)
    if (colon >= 0 && !toks[colon].text.slice(0, -1).includes(':')) {
      key = [...toks.slice(0, colon), { ...toks[colon], text: toks[colon].text.slice(0, -1) }]
      value = toks.slice(colon + 1)
    }
  }
  const cut = key.findIndex((t, i) => i > 0 && t.kind === 'word' && ELEMENT_STATEMENTS.has(t.text))
  if (cut > 0) key = key.slice(0, cut)
  return value === undefined ? { key } : { key, value }
}

/** The element's key as one string (`10.0.0.0/8`, `eth0`, `syn|ack`), or undefined for a concatenation. */
export function elemText(toks: Token[]): string | undefined {
  if (toks.some((t) => isWord(t, '.'))) return undefined
  return toks.map((t) => t.text).join('')
}

/** Collects a rule's Matches (with the protocol dependencies nft adds) and its statements. */
export class Builder {
  slots: (Match | Group)[] = []
  verdict?: Action
  nat?: Action
  log?: Action
  others: Action[] = []
  marks: SetMark[] = []
  /** A `notrack` statement was met. */
  notrack = false
  comment?: string
  counters?: { packets: number; bytes: number }
  /** The network layer the rule's expressions imply (for reject's default in inet). */
  l3?: 4 | 6
  private protos = new Set<number>()
  private families = new Set<4 | 6>()

  push(m: Match): void {
    this.slots.push(m)
    if (m.kind === 'proto' && !m.negate && m.protos.length === 1) this.protos.add(m.protos[0])
  }
  group(g: Group): void {
    this.slots.push(g)
  }
  unmodelled(name: string, text: string): void {
    this.push({ kind: 'unmodelled', name, text })
  }
  stateful(name: string, text: string, listed?: { match?: Match; negate: boolean }): void {
    this.push(listed ? { kind: 'stateful', name, text, listed } : { kind: 'stateful', name, text })
  }
  /** Adds `meta l4proto N`, as nft does before a transport header field, unless already there. */
  requireProto(n: number): void {
    if (this.protos.has(n)) return
    this.push({ kind: 'proto', protos: [n], negate: false })
  }
  /** Adds `meta nfproto ipv4|ipv6`, as nft does in inet, bridge and netdev tables, unless already there. */
  requireFamily(v: 4 | 6): void {
    if (this.families.has(v)) return
    this.families.add(v)
    this.push(familyMatch(v))
  }
  /** Records a match that already tests the family (`meta nfproto ipv4`, `ip saddr 10.0.0.0/8`). */
  impliesFamily(v: 4 | 6): void {
    this.families.add(v)
    this.l3 ??= v
  }
}
