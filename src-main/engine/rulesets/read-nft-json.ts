/**
 * `nft -j list ruleset` output (libnftables-json(5)) into the ruleset model.
 * Each table, set, chain and rule object is written back in nft's text syntax
 * (one line per rule, as `nft list ruleset` prints it) and read by the nft
 * text reader, so both forms of one ruleset give the same model; lines,
 * handles and problems are then pointed back at the JSON objects.
 */

import { problem, type Problem } from '../../shared/problem'
import type { Family, Ruleset, Source } from './model'
import { PRIORITY } from './model'
import { readNft } from './read-nft'
import {
  element,
  expr,
  isObject,
  quote,
  statement,
  str,
  type Json,
  type JsonObject
} from './read-nft-json-render'

/** A JSON object of the listing, with the line it starts on. */
interface Located {
  kind: string
  body: JsonObject
  line: number
}

interface TableOut {
  family: string
  name: string
  head: string[]
  sets: string[]
  chains: Map<string, { obj?: Located; rules: Located[] }>
}

/** Returns the model of `nft -j list ruleset` output; what cannot be read is a Problem. */
export function readNftJson(source: string, text: string): Ruleset {
  const empty = (p: Problem): Ruleset => ({
    system: 'nftables',
    source,
    tables: [],
    problems: [p]
  })
  let doc: Json
  try {
    doc = JSON.parse(text) as Json
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e)
    const pos = /position (\d+)/.exec(message)
    if (!pos) return empty(problem(source, 'line 1', `not JSON: ${message}`))
    const { line, column } = lineColumn(text, Number(pos[1]))
    return empty(
      problem(source, `line ${line}`, `not JSON: ${message} (line ${line}, column ${column})`)
    )
  }
  const list = isObject(doc) ? doc.nftables : undefined
  if (!Array.isArray(list))
    return empty(problem(source, 'line 1', 'not nft JSON: no "nftables" array at the top'))

  const starts = elementStarts(text)
  const lineAt = lineIndex(text)
  const problems: Problem[] = []
  const tables = new Map<string, TableOut>()
  const tableOf = (o: JsonObject): TableOut | undefined => {
    const family = str(o.family) ?? 'ip'
    const name = str(o.table) ?? str(o.name)
    if (name === undefined) return undefined
    const id = `${family} ${name}`
    let t = tables.get(id)
    if (!t) tables.set(id, (t = { family, name, head: [], sets: [], chains: new Map() }))
    return t
  }
  const chainOf = (t: TableOut, name: string): { obj?: Located; rules: Located[] } => {
    let c = t.chains.get(name)
    if (!c) t.chains.set(name, (c = { rules: [] }))
    return c
  }
  list.forEach((item, k) => {
    const line = lineAt(starts[k] ?? 0)
    const keys = isObject(item) ? Object.keys(item) : []
    const kind = keys[0]
    const body = isObject(item) && keys.length === 1 ? item[kind] : undefined
    if (!isObject(body)) {
      problems.push(problem(source, `line ${line}`, 'not an nft JSON object'))
      return
    }
    const at: Located = { kind, body, line }
    if (kind === 'metainfo') return
    if (kind === 'table') {
      const t = tableOf({ family: body.family, table: body.name })
      const flags = ([] as Json[]).concat(body.flags ?? [])
      if (t && flags.includes('dormant')) t.head.push('flags dormant')
    } else if (kind === 'chain' || kind === 'rule') {
      const t = tableOf(body)
      const name = str(kind === 'chain' ? body.name : body.chain)
      if (!t || name === undefined) return
      const c = chainOf(t, name)
      if (kind === 'chain') c.obj = at
      else c.rules.push(at)
    } else if (kind === 'set' || kind === 'map') {
      tableOf(body)?.sets.push(setText(kind, body))
    } else if (['add', 'insert', 'create', 'replace', 'delete', 'flush'].includes(kind)) {
      problems.push(
        problem(source, `line ${line}`, `the nft command '${kind}' is not read; only listings are`)
      )
    }
    // Flowtables, named counters, quotas, limits, ct objects, secmarks ...: not needed.
  })

  // The listing written as nft text: one line per table, set, chain head and rule.
  const out: string[] = []
  const origin: (Located | undefined)[] = []
  const emit = (s: string, from?: Located): void => {
    out.push(s)
    origin.push(from)
  }
  for (const t of tables.values()) {
    emit(`table ${t.family} ${t.name} {`)
    for (const h of t.head) emit(`${h};`)
    for (const s of t.sets) emit(s)
    for (const [name, c] of t.chains) {
      emit(`chain ${name} {`)
      const head = c.obj && chainHead(c.obj.body, t.family as Family)
      if (head) emit(head, c.obj)
      for (const r of c.rules) emit(ruleText(r.body), r)
      emit('}')
    }
    emit('}')
  }
  const read = readNft(source, out.join('\n'))
  const jsonLine = (n: number): number => origin[n - 1]?.line ?? 1
  for (const p of read.problems) {
    const n = Number(p.at.slice('line '.length))
    problems.push({ ...p, at: `line ${jsonLine(n)}` })
  }
  for (const table of read.tables)
    for (const chain of table.chains) {
      if (chain.policySource) {
        const from = origin[chain.policySource.line - 1]
        const src: Source = { line: from?.line ?? 1, text: chain.policySource.text }
        chain.policySource = src
      }
      for (const rule of chain.rules) {
        const from = origin[rule.source.line - 1]
        rule.source = { line: from?.line ?? 1, text: rule.text }
        const handle = from?.body.handle
        if (typeof handle === 'number') rule.handle = handle
        else delete rule.handle
      }
    }
  problems.sort((a, b) => Number(a.at.slice(5)) - Number(b.at.slice(5)))
  return { system: 'nftables', source, tables: read.tables, problems }
}

/** A rule's statements as nft prints them, with its comment. */
function ruleText(body: JsonObject): string {
  const exprs = Array.isArray(body.expr) ? body.expr : []
  const parts = exprs.map((e) => statement(e))
  if (typeof body.comment === 'string') parts.push(`comment ${quote(body.comment)}`)
  return parts.join(' ')
}

/** `type T hook H priority P; policy X;` as nft prints it, or undefined for a regular chain. */
export function chainHead(body: JsonObject, family: Family): string | undefined {
  const hook = str(body.hook)
  if (hook === undefined) return undefined
  const prio = typeof body.prio === 'number' ? body.prio : 0
  const type = str(body.type) ?? 'filter'
  const policy = str(body.policy)
  const devs = Array.isArray(body.dev) ? body.dev.map((d) => str(d)) : [str(body.dev)]
  const names = devs.filter((d): d is string => d !== undefined)
  const device =
    names.length === 0
      ? ''
      : names.length === 1
        ? ` device ${quote(names[0])}`
        : ` devices = { ${names.map(quote).join(', ')} }`
  return `type ${type} hook ${hook}${device} priority ${priorityName(prio, hook, family)};${policy === undefined ? '' : ` policy ${policy};`}`
}

/** The priority as nft prints it: a standard name (± up to 10) where the hook has one, else the number. */
function priorityName(prio: number, hook: string, family: Family): string {
  const names: [string, number, string?][] =
    family === 'bridge'
      ? [
          ['dstnat', -300, 'prerouting'],
          ['filter', -200],
          ['out', 100, 'output'],
          ['srcnat', 300, 'postrouting']
        ]
      : family === 'netdev'
        ? [['filter', PRIORITY.filter]]
        : [
            ['raw', PRIORITY.raw],
            ['mangle', PRIORITY.mangle],
            ['dstnat', PRIORITY.dstnat, 'prerouting'],
            ['filter', PRIORITY.filter],
            ['security', PRIORITY.security],
            ['srcnat', PRIORITY.srcnat, 'postrouting']
          ]
  for (const [name, value, only] of names) {
    if (only !== undefined && only !== hook) continue
    const off = prio - value
    if (off === 0) return name
    if (Math.abs(off) <= 10) return `${name} ${off < 0 ? '-' : '+'} ${Math.abs(off)}`
  }
  return String(prio)
}

/** `set NAME { type T; flags F; elements = { ... } }` on one line. */
function setText(kind: 'set' | 'map', body: JsonObject): string {
  const typeOf = (t: Json | undefined): string =>
    Array.isArray(t)
      ? t.map((x) => typeOf(x)).join(' . ')
      : isObject(t) && t.typeof !== undefined
        ? expr(t.typeof)
        : (str(t) ?? '')
  const type = isObject(body.type) && body.type.typeof !== undefined ? 'typeof' : 'type'
  let decl = `${type} ${typeOf(body.type)}`
  if (kind === 'map') decl += ` : ${typeOf(body.map)}`
  const parts = [decl]
  const flags = ([] as Json[]).concat(body.flags ?? []).map((f) => str(f) ?? '')
  if (body.timeout !== undefined && !flags.includes('timeout')) flags.push('timeout')
  if (flags.length) parts.push(`flags ${flags.join(',')}`)
  const elems = Array.isArray(body.elem) ? body.elem : []
  if (elems.length) parts.push(`elements = { ${elems.map((e) => element(e)).join(', ')} }`)
  return `${kind} ${str(body.name) ?? ''} { ${parts.join('; ')} }`
}

/** The offsets where the elements of the top-level `nftables` array begin. */
function elementStarts(text: string): number[] {
  const starts: number[] = []
  let depth = 0
  let inString = false
  let expecting = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
      continue
    }
    if (/\s/.test(c)) continue
    if (expecting && depth === 2 && c !== ']') starts.push(i)
    expecting = false
    if (c === '"') inString = true
    else if (c === '{' || c === '[') {
      depth++
      expecting = depth === 2 && c === '['
    } else if (c === '}' || c === ']') depth--
    else if (c === ',' && depth === 2) expecting = true
  }
  return starts
}

/** Returns a function from a character offset to its 1-based line. */
function lineIndex(text: string): (offset: number) => number {
  const breaks: number[] = []
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) breaks.push(i)
  return (offset) => {
    let lo = 0
    let hi = breaks.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (breaks[mid] < offset) lo = mid + 1
      else hi = mid
    }
    return lo + 1
  }
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset)
  const line = before.split('\n').length
  return { line, column: offset - before.lastIndexOf('\n') }
}
