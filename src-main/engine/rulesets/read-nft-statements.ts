/**
 * nft statements: verdicts, reject, NAT, log, counter, the stateful ones
 * (limit, quota, ct count, meters) and those that change a packet or its
 * connection without deciding its fate.
 */

import type { Action } from './model'
import { STOP, type Builder, type Cursor } from './read-nft-cursor'
import { endsStatement, isPunct, isWord } from './read-nft-tokens'

const NAT_FLAGS = new Set(['persistent', 'random', 'fully-random', ','])
const LOG_FLAGS = new Set(['tcp', 'ip', 'sequence', 'options', 'skuid', 'ether', 'all', ','])
const RATE_WORDS =
  /^(\d.*|.*\/.*|rate|over|until|used|burst|packets|bytes|kbytes|mbytes|second|minute|hour|day|week)$/

/** Reads a statement at the cursor into the builder; false (cursor unmoved) when it is none. */
export function statement(c: Cursor, b: Builder): boolean {
  const from = c.i
  const w = c.word()
  switch (w) {
    case 'accept':
    case 'drop':
    case 'continue':
    case 'return':
      c.next()
      b.verdict = { kind: w }
      return true
    case 'jump':
    case 'goto': {
      const t = c.peek(1)
      if (!t || (t.kind !== 'word' && t.kind !== 'string')) return false
      c.i += 2
      b.verdict = { kind: w, chain: t.text }
      return true
    }
    case 'reject':
      c.next()
      b.verdict = { kind: 'reject', with: rejectWith(c, b) }
      return true
    case 'dnat':
    case 'snat':
    case 'masquerade':
    case 'redirect':
      b.nat = nat(c, w)
      return true
    case 'counter': {
      c.next()
      const [packets, bytes] = [c.word(1) ?? '', c.word(3) ?? '']
      if (
        isWord(c.peek(), 'packets') &&
        isWord(c.peek(2), 'bytes') &&
        /^\d+ \d+$/.test(`${packets} ${bytes}`)
      ) {
        b.counters = { packets: Number(packets), bytes: Number(bytes) }
        c.i += 4
      } else if (isWord(c.peek(), 'name')) untilStop(c)
      return true
    }
    case 'log':
      b.log = log(c)
      return true
    case 'comment':
      if (c.peek(1)?.kind !== 'string' && c.peek(1)?.kind !== 'word') return false
      b.comment = c.peek(1)!.text
      c.i += 2
      return true
    case 'limit':
    case 'quota':
      c.next()
      if (isWord(c.peek(), 'name')) untilStop(c)
      else while (!c.end && RATE_WORDS.test(c.word() ?? '')) c.next()
      b.stateful(w, c.text(from))
      return true
    case 'ct':
      if (c.word(1) !== 'count') return false
      c.i += 2
      while (!c.end && RATE_WORDS.test(c.word() ?? '')) c.next()
      b.stateful('ct count', c.text(from))
      return true
    case 'last':
      c.next()
      if (isWord(c.peek(), 'used')) c.i += 2
      return true
    case 'add':
    case 'update':
    case 'delete':
    case 'meter': {
      // Set statements: `update @set { ip saddr limit rate over 10/second }` limits per element.
      if (!c.word(1)?.startsWith('@') && w !== 'meter') return false
      c.next()
      let stateful = false
      while (!c.end && !endsStatement(c.peek()) && !isPunct(c.peek(), '{')) c.next()
      if (isPunct(c.peek(), '{')) {
        const body = c.i
        c.skipAtom()
        stateful = c.toks.slice(body, c.i).some((t) => isWord(t, 'limit', 'quota', 'count'))
      }
      if (stateful || w === 'meter') b.stateful('meter', c.text(from))
      else b.others.push(other(`${w} @set`, c.text(from), false))
      return true
    }
    case 'queue': {
      c.next()
      untilStop(c)
      const text = c.text(from)
      // queue [flags bypass[,fanout]] [num|to] N[-M] | queue num N [bypass] [fanout]
      const num = /\b(?:num|to)\s+(\d+(?:-\d+)?)/.exec(text)?.[1] ?? '0'
      b.verdict = { kind: 'queue', num, bypass: /\bbypass\b/.test(text), text }
      return true
    }
    case 'synproxy':
    case 'fwd':
    case 'notrack':
    case 'tproxy':
    case 'dup':
    case 'flow': {
      c.next()
      if (w === 'flow' && isWord(c.peek(), 'add', 'offload')) c.next()
      untilStop(c)
      // synproxy answers the SYN itself, fwd sends it out of another device: each ends the rule
      // with a fate Verdict cannot know.
      const terminal = w === 'synproxy' || w === 'fwd'
      const a = other(w, c.text(from), terminal)
      if (w === 'notrack') b.notrack = true
      if (terminal) b.verdict = a
      else b.others.push(a)
      return true
    }
  }
  return false
}

/** An effect Verdict keeps but does not model. */
export function other(name: string, text: string, terminal: boolean): Action {
  return { kind: 'other', name, text, terminal }
}

/** Skips to the next statement keyword (or the rule's end). */
export function untilStop(c: Cursor): void {
  while (!c.end && !STOP.has(c.word() ?? '')) c.skipAtom()
}

/** `reject [with icmp|icmpv6|icmpx [type] CODE | with tcp reset]`: the form, as `icmp host-prohibited`. */
function rejectWith(c: Cursor, b: Builder): string {
  if (isWord(c.peek(), 'with')) {
    const kind = c.word(1)
    if (kind === 'tcp' && isWord(c.peek(2), 'reset')) {
      c.i += 3
      return 'tcp reset'
    }
    if (kind === 'icmp' || kind === 'icmpv6' || kind === 'icmpx') {
      let k = 2
      if (isWord(c.peek(k), 'type', 'code')) k++
      const code = c.peek(k)
      if (code && (code.kind === 'word' || code.kind === 'string') && !STOP.has(code.text)) {
        c.i += k + 1
        return `${kind} ${code.text}`
      }
    }
  }
  // nft(8): port-unreachable, as icmp in ip, icmpv6 in ip6 and icmpx elsewhere, except that in
  // inet a rule that already matches one family rejects with that family's ICMP.
  const family = c.ctx.family
  const v = family === 'ip' ? 4 : family === 'ip6' ? 6 : b.l3
  return `${v === 4 ? 'icmp' : v === 6 ? 'icmpv6' : 'icmpx'} port-unreachable`
}

/** `dnat [ip|ip6] [prefix] to ADDR[:PORT] [flags]`, `masquerade [to :PORT]`, `redirect [to :PORT]`. */
function nat(c: Cursor, kind: 'dnat' | 'snat' | 'masquerade' | 'redirect'): Action {
  c.next()
  while (isWord(c.peek(), 'ip', 'ip6', 'prefix')) c.next()
  let to: string | undefined
  if (isWord(c.peek(), 'to')) {
    c.next()
    const from = c.i
    untilStop(c)
    let end = c.i
    while (end > from && c.toks[end - 1].kind !== 'string' && NAT_FLAGS.has(c.toks[end - 1].text))
      end--
    to = c.text(from, end)
  }
  while (NAT_FLAGS.has(c.word() ?? '') || isPunct(c.peek(), ',')) c.next()
  return to === undefined ? { kind } : { kind, to }
}

/** `log [prefix "..."] [level L] [group N] [snaplen N] [queue-threshold N] [flags ...]`. */
function log(c: Cursor): Action {
  c.next()
  const a: { kind: 'log'; prefix?: string; group?: number; level?: string } = { kind: 'log' }
  for (;;) {
    const w = c.word()
    const v = c.peek(1)
    if (w === 'prefix' && v) a.prefix = v.text
    else if (w === 'level' && v) a.level = v.text
    else if (w === 'group' && v) a.group = Number(v.text)
    else if ((w === 'snaplen' || w === 'queue-threshold') && v) void 0
    else if (w === 'flags') {
      c.next()
      while (!c.end && (LOG_FLAGS.has(c.word() ?? '') || isPunct(c.peek(), ','))) c.next()
      continue
    } else break
    c.i += 2
  }
  return a
}
