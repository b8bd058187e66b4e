/**
 * The nft reader's second pass: once every table, chain and set is known,
 * each collected rule is read against its table's sets into model rules.
 */

import type { Chain, Rule, Table } from './model'
import type { NftSet, RuleContext } from './read-nft-cursor'
import { parseRule } from './read-nft-rule'
import { isWord, type Token } from './read-nft-tokens'

/** A table being read: its model, its named sets and maps, and its anonymous chains so far. */
export interface TableState {
  table: Table
  sets: Map<string, NftSet>
  anonymous: number
}

/** A rule collected from a chain block, read once the whole file is. */
export interface Pending {
  state: TableState
  chain: Chain
  toks: Token[]
}

/** What the second pass needs from the file. */
export interface FileInfo {
  text: string
  rawLine: (n: number) => string
  comments: Map<number, string>
  report: (line: number, message: string) => void
}

/** Reads the collected rules into their chains, in the order they are written. */
export function readRules(pending: Pending[], file: FileInfo): void {
  const dynamic = new Set<string>()
  for (const p of pending)
    p.toks.forEach((t, k) => {
      const next = p.toks[k + 1]
      if (isWord(t, 'add', 'update', 'delete') && next?.text.startsWith('@'))
        dynamic.add(`${p.state.table.name} ${next.text.slice(1)}`)
    })
  const missing = new Set<string>()
  for (const { state, chain, toks } of pending) {
    const dynamicSets = new Set<string>()
    for (const s of state.sets.values())
      if (
        s.flags.includes('dynamic') ||
        s.flags.includes('timeout') ||
        dynamic.has(`${state.table.name} ${s.name}`)
      )
        dynamicSets.add(s.name)
    const ctx: RuleContext = {
      text: file.text,
      family: state.table.family,
      sets: state.sets,
      dynamicSets,
      missingSet: (name, at) => {
        if (missing.has(`${at.line} ${name}`)) return
        missing.add(`${at.line} ${name}`)
        file.report(
          at.line,
          `@${name} is not a set or map of table ${state.table.family} ${state.table.name}`
        )
      }
    }
    chain.rules.push(...toRules(toks, ctx, file))
  }
}

/** The model rules of one written rule: one, or one per expansion of its sets and verdict map. */
function toRules(toks: Token[], ctx: RuleContext, file: FileInfo): Rule[] {
  const first = toks[0]
  const last = toks[toks.length - 1]
  const anon = toks.find((t) => t.anonymous)
  const end = anon ? anon.start + 1 : last.end
  const text = ctx.text
    .slice(first.start, end)
    .replace(/\s*\n\s*/g, ' ')
    .trim()
  const handle = /^#\s*handle\s+(\d+)\s*$/.exec(file.comments.get(last.endLine ?? last.line) ?? '')
  const parsed = parseRule(toks, ctx)
  if (!parsed.understood)
    file.report(first.line, `'${first.text}' does not begin a rule; kept, as an unmodelled match`)
  return parsed.variants.map((v) => {
    const rule: Rule = {
      source: { line: first.line, text: file.rawLine(first.line) },
      text,
      matches: v.matches,
      action: v.action
    }
    if (parsed.comment !== undefined) rule.comment = parsed.comment
    if (handle) rule.handle = Number(handle[1])
    if (parsed.counters) rule.counters = parsed.counters
    if (parsed.log) rule.log = { prefix: parsed.log.prefix, group: parsed.log.group }
    const marks = parsed.marks.filter((m) => m !== v.action)
    if (marks.length) rule.marks = marks
    if (parsed.notrack) rule.notrack = true
    return rule
  })
}
