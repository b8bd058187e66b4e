/**
 * One nft rule's tokens into Matches and an Action. Expressions Verdict
 * models become Matches (with the protocol dependencies nft adds); anything
 * else is kept as an 'unmodelled' Match holding its text; sets of ICMP types
 * or TCP flag values and verdict maps expand into one rule per element.
 */

import type { Action, Match, SetMark } from './model'
import {
  Builder,
  Cursor,
  elemText,
  type Alternative,
  type Elem,
  type NftSet,
  type RuleContext
} from './read-nft-cursor'
import { other, statement, untilStop } from './read-nft-statements'
import { isPunct, isWord, type Token } from './read-nft-tokens'
import { isOp, OPS, selector, type Selector } from './read-nft-selector'
import {
  convert,
  flagBits,
  icmpCode,
  markValue,
  NUMBER_MAX,
  numberRange,
  portRange,
  type Converted,
  type KeyKind,
  type ValueForm
} from './read-nft-values'

/** A rule read: one variant per expansion of its sets and verdict map (usually one). */
export interface ParsedRule {
  variants: { matches: Match[]; action: Action }[]
  /** False when the rule does not even begin with an expression or statement nft has. */
  understood: boolean
  comment?: string
  counters?: { packets: number; bytes: number }
  /** A log statement in a rule that also has a verdict (`log prefix "X" drop`). */
  log?: Action & { kind: 'log' }
  /** `meta mark set ...` / `ct mark set ...` statements, in order. */
  marks: SetMark[]
  /** A `notrack` statement. */
  notrack?: boolean
}

const BINOPS = new Set(['&', '|', '^', '>>', '<<', 'and', 'or', 'xor', 'lshift', 'rshift'])
/** Above this many expanded rules, a rule's sets are kept unmodelled instead. */
const MAX_VARIANTS = 256

/** Reads one rule (its tokens, without the line's end). */
export function parseRule(toks: Token[], ctx: RuleContext): ParsedRule {
  const c = new Cursor(toks, ctx)
  const b = new Builder()
  let understood = true
  while (!c.end) {
    const from = c.i
    if (isPunct(c.peek(), ';')) {
      c.next()
      continue
    }
    if (statement(c, b) || expression(c, b)) continue
    if (from === 0) understood = false
    // Not understood: keep everything up to the next statement keyword, as written.
    c.i = from
    const name = c.peek()!.text
    c.skipAtom()
    untilStop(c)
    b.unmodelled(name, c.text(from))
  }
  return { ...finish(b), understood }
}

function finish(b: Builder): Omit<ParsedRule, 'understood'> {
  const base: Action = b.verdict ??
    b.nat ??
    b.log ??
    b.others[0] ??
    b.marks[0] ?? {
      kind: 'continue'
    }
  let variants: Alternative[] = [{ matches: [] }]
  for (const slot of b.slots) {
    if (!('alternatives' in slot)) {
      for (const v of variants) v.matches.push(slot)
    } else if (variants.length * slot.alternatives.length > MAX_VARIANTS) {
      for (const v of variants)
        v.matches.push({ kind: 'unmodelled', name: slot.name, text: slot.text })
    } else {
      variants = variants.flatMap((v) =>
        slot.alternatives.map((a) => ({
          matches: [...v.matches, ...a.matches],
          action: a.action ?? v.action
        }))
      )
    }
  }
  const out: Omit<ParsedRule, 'understood'> = {
    variants: variants.map((v) => ({ matches: v.matches, action: v.action ?? base })),
    marks: b.marks
  }
  if (b.comment !== undefined) out.comment = b.comment
  if (b.counters) out.counters = b.counters
  if (b.log?.kind === 'log' && base !== b.log) out.log = b.log
  if (b.notrack) out.notrack = true
  return out
}

/** Reads `SELECTOR [. SELECTOR] [BINOP X] (OP VALUE | vmap MAP | set VALUE)`. */
function expression(c: Cursor, b: Builder): boolean {
  const from = c.i
  const sel = selector(c)
  if (!sel) return false
  let key = sel.key
  while (isWord(c.peek(), '.')) {
    c.next()
    if (!selector(c) && !c.atom()) return fail(c, from)
    key = undefined
  }
  while (BINOPS.has(c.word() ?? '')) {
    const op = c.next().text
    const atom = c.atom()
    if (!atom) return fail(c, from)
    const atomText = atom.map((t) => t.text).join('')
    const bits = flagBits(atomText)
    const and = op === '&' || op === 'and'
    const masked = key?.kind === 'tcpflags' && key.mask === undefined && and
    const markMask = key?.kind === 'mark' && key.mask === undefined && and
    const mask = markMask ? markValue(atomText) : undefined
    key =
      masked && bits !== undefined
        ? { kind: 'tcpflags', mask: bits }
        : key?.kind === 'mark' && mask !== undefined
          ? { ...key, mask }
          : undefined
  }
  if (isWord(c.peek(), 'set')) {
    c.next()
    if (key?.kind === 'mark' && key.mask === undefined) {
      b.marks.push(markSet(c, key.field, from))
      return true
    }
    untilStop(c)
    b.others.push(other(`${sel.name} set`, c.text(from), false))
    return true
  }
  if (isWord(c.peek(), 'vmap')) return verdictMap(c, b, sel, key, from, c.text(from))
  if (isWord(c.peek(), 'map') || c.end) return fail(c, from)
  let op = isOp(c.word()) ? OPS[c.next().text] : undefined
  let form: ValueForm = 'list'
  let elems: Elem[] = []
  let named: NftSet | undefined
  const t = c.peek()
  if (!t || t.kind === 'nl') return fail(c, from)
  if (isPunct(t, '{')) {
    form = 'set'
    elems = c.set()
  } else if (t.kind === 'word' && t.text.startsWith('@')) {
    c.next()
    const set = c.ctx.sets.get(t.text.slice(1))
    if (!set) c.ctx.missingSet(t.text.slice(1), t)
    if (set && c.ctx.dynamicSets.has(set.name)) {
      depend(b, sel, key, op === '!=', c.ctx.family)
      // What the snapshot lists was in the set when it was taken (an element with `expires`
      // stays for its timeout): a listed key matches; whether another did at the time, only the
      // traffic then can say.
      const strings = set.elements.map((e) => elemText(e.key))
      const listed =
        key && !set.concat && strings.length > 0 && strings.every((x) => x !== undefined)
          ? convertNamed(set, key, strings as string[], false, false)
          : undefined
      const one = listed && 'all' in listed && listed.all.length === 1 ? listed.all[0] : undefined
      // (A set listed empty holds nothing yet; one whose keys Verdict cannot read stays unknown.)
      const known = one !== undefined || (key !== undefined && !set.concat && strings.length === 0)
      b.stateful('set', c.text(from), known ? { match: one, negate: op === '!=' } : undefined)
      return true
    }
    if (!set || set.concat) key = undefined
    form = 'set'
    elems = set?.elements ?? []
    named = set
  } else {
    for (;;) {
      const atom = c.atom()
      if (!atom) return fail(c, from)
      elems.push({ key: atom })
      if (!isPunct(c.peek(), ',') && !isWord(c.peek(), '|')) break
      c.next()
    }
  }
  let mask: number | undefined
  if (isWord(c.peek(), '/')) {
    c.next()
    const parts: string[] = []
    for (
      let atom = c.atom();
      atom;
      atom = isPunct(c.peek(), ',') ? (c.next(), c.atom()) : undefined
    )
      parts.push(atom.map((x) => x.text).join(''))
    mask = flagBits(parts.join(','))
    key =
      key?.kind === 'tcpflags' && key.mask === undefined && mask !== undefined
        ? { kind: 'tcpflags', mask }
        : undefined
  }
  const text = c.text(from)
  const negate = op === '!='
  let strings = elems.map((e) => elemText(e.key))
  if (op && op !== '==' && op !== '!=') {
    // `tcp dport < 1024`, `ip ttl > 64`: a range; other comparisons are not modelled.
    const only = strings.length === 1 ? strings[0] : undefined
    const max =
      key?.kind === 'port'
        ? 65535
        : key?.kind === 'number' || key?.kind === 'owner'
          ? NUMBER_MAX[key.field]
          : undefined
    const r =
      max === undefined || only === undefined
        ? undefined
        : key?.kind === 'port'
          ? portRange(only)
          : numberRange(only, max)
    const top = max ?? 65535
    const range: [number, number] | undefined =
      r &&
      (op === '<'
        ? [0, r[0] - 1]
        : op === '<='
          ? [0, r[0]]
          : op === '>'
            ? [r[0] + 1, top]
            : [r[0], top])
    strings = range && range[0] <= range[1] ? [`${range[0]}-${range[1]}`] : [undefined]
    op = '=='
  }
  const converted =
    key && strings.every((s) => s !== undefined)
      ? named && (op === undefined || op === '==' || op === '!=')
        ? convertNamed(named, key, strings as string[], negate, op !== undefined)
        : convert(key, strings as string[], negate, form, op !== undefined)
      : undefined
  depend(b, sel, converted ? key : undefined, negate, c.ctx.family)
  if (!converted && key?.kind === 'icmp' && !negate && form === 'list' && strings.length === 1) {
    // `icmp type destination-unreachable icmp code port-unreachable`: the code joins the type.
    const code = icmpCode(strings[0] ?? '', key.v6)
    const typed = b.slots.filter(
      (m): m is Extract<Match, { kind: 'icmp-type' }> =>
        !('alternatives' in m) && m.kind === 'icmp-type' && m.v6 === key.v6 && !m.negate
    )
    if (code !== undefined && typed.length === 1 && typed[0].code === undefined) {
      typed[0].code = code
      return true
    }
  }
  if (!converted) b.unmodelled(sel.name, text)
  else if ('all' in converted) converted.all.forEach((m) => b.push(m))
  else b.group({ alternatives: converted.any.map((m) => ({ matches: m })), name: sel.name, text })
  if (key?.kind === 'family' && !negate && converted && 'all' in converted) {
    const m = converted.all[0]
    if (m.kind === 'saddr' && m.cidrs.length === 1) b.impliesFamily(m.cidrs[0].version)
  }
  return true
}

/** Adds the dependencies nft puts before an expression: the transport protocol, and the family. */
function depend(
  b: Builder,
  sel: Selector,
  key: KeyKind | undefined,
  negate: boolean,
  family: RuleContext['family']
): void {
  if (sel.l3) b.l3 ??= sel.l3
  if (sel.proto !== undefined) b.requireProto(sel.proto)
  // A positive address match already fails for the other family; anything else needs the check.
  if (key?.kind === 'addr' && !negate) b.impliesFamily(key.version)
  else if (sel.l3 && sel.proto !== undefined) b.impliesFamily(sel.l3)
  else if (sel.l3 && family !== 'ip' && family !== 'ip6' && sel.proto === undefined)
    b.requireFamily(sel.l3)
}

/** `KEY vmap { k : verdict, ... }` or `KEY vmap @map`: one alternative per element. */
function verdictMap(
  c: Cursor,
  b: Builder,
  sel: Selector,
  key: KeyKind | undefined,
  from: number,
  lhs: string
): boolean {
  c.next()
  let elems: Elem[]
  const t = c.peek()
  if (isPunct(t, '{')) elems = c.set()
  else if (t?.kind === 'word' && t.text.startsWith('@')) {
    c.next()
    const map = c.ctx.sets.get(t.text.slice(1))
    if (!map) c.ctx.missingSet(t.text.slice(1), t)
    if (!map?.map || map.concat) key = undefined
    elems = map?.elements ?? []
  } else return fail(c, from)
  const text = c.text(from)
  depend(b, sel, key, false, c.ctx.family)
  if (elems.length === 0) {
    b.unmodelled('vmap', `${text} (no elements)`)
    return true
  }
  const keyOf = (e: Elem): string | undefined => elemText(e.key)
  const others = elems.filter((e) => keyOf(e) !== '*').map(keyOf)
  const alternatives = elems.map((e): Alternative => {
    const k = keyOf(e)
    const action = verdictOf(e.value ?? [], c)
    const conv =
      key && k !== undefined && others.every((o) => o !== undefined)
        ? k === '*'
          ? convert(key, others as string[], true, 'set', true)
          : convert(key, [k], false, 'set', true)
        : undefined
    const elemWritten = c.ctx.text.slice(e.key[0].start, e.key[e.key.length - 1].end)
    const matches =
      conv && 'all' in conv
        ? conv.all
        : [{ kind: 'unmodelled' as const, name: sel.name, text: `${lhs} ${elemWritten}` }]
    return { matches, action }
  })
  b.group({ alternatives, name: 'vmap', text })
  return true
}

function verdictOf(toks: Token[], c: Cursor): Action {
  const w = toks[0]?.text
  if (w === 'accept' || w === 'drop' || w === 'continue' || w === 'return') return { kind: w }
  if ((w === 'jump' || w === 'goto') && toks[1]) return { kind: w, chain: toks[1].text }
  const text = toks.length ? c.ctx.text.slice(toks[0].start, toks[toks.length - 1].end) : ''
  return other('vmap', text, true)
}

/**
 * The value of `meta mark set ...` / `ct mark set ...`: a number, or the other mark; anything
 * else (an expression, a map) is read to the next statement and leaves the mark unknown.
 */
function markSet(c: Cursor, field: 'mark' | 'ct-mark', from: number): SetMark {
  const start = c.i
  const value = selector(c)
  const atom = value ? undefined : c.atom()
  const next = c.word()
  const simple = next === undefined || !(BINOPS.has(next) || next === 'map' || next === '.')
  if (simple && atom?.length === 1 && markValue(atom[0].text) !== undefined) {
    const xor = markValue(atom[0].text)!
    return { kind: 'set-mark', field, clear: 0xffffffff, xor, text: c.text(from) }
  }
  const copied = value?.key?.kind === 'mark' ? value.key.field : undefined
  if (simple && copied !== undefined && copied !== field)
    return {
      kind: 'set-mark',
      field,
      clear: 0xffffffff,
      xor: 0,
      copy: { from: copied, mask: 0xffffffff },
      text: c.text(from)
    }
  c.i = start
  untilStop(c)
  return { kind: 'set-mark', field, text: c.text(from) }
}

function fail(c: Cursor, from: number): false {
  c.i = from
  return false
}

/** A named set's elements as converted for each way rules look them up, kept per set. */
const convertedSets = new WeakMap<NftSet, Map<string, Converted | undefined>>()

/**
 * Converts a named set's elements once for every rule that names it (`ip saddr @blocklist` in
 * seventy rules is one list of prefixes, not seventy): each rule gets its own Match objects
 * around the one shared, read-only list.
 */
function convertNamed(
  set: NftSet,
  key: KeyKind,
  strings: string[],
  negate: boolean,
  exact: boolean
): Converted | undefined {
  let byKey = convertedSets.get(set)
  if (!byKey) convertedSets.set(set, (byKey = new Map()))
  const k = `${JSON.stringify(key)}|${negate}|${exact}`
  let converted = byKey.get(k)
  if (converted === undefined && !byKey.has(k)) {
    converted = convert(key, strings, negate, 'set', exact)
    byKey.set(k, converted)
  }
  if (!converted) return undefined
  return 'all' in converted
    ? { all: converted.all.map((m) => ({ ...m })) }
    : { any: converted.any.map((ms) => ms.map((m) => ({ ...m }))) }
}
