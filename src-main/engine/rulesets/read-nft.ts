import { problem, type Problem } from '../../shared/problem'
import type { Chain, Family, Hook, Ruleset } from './model'
import { PRIORITY } from './model'
import { readRules, type Pending, type TableState } from './read-nft-assemble'
import { splitElems, type NftSet } from './read-nft-cursor'
import {
  endsStatement,
  expandDefines,
  isPunct,
  isWord,
  lexNft,
  type Token
} from './read-nft-tokens'

const FAMILIES = new Set<Family>(['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev'])
const HOOKS = new Set<Hook>([
  'prerouting',
  'input',
  'forward',
  'output',
  'postrouting',
  'ingress',
  'egress'
])
/** nft(8) PRIORITY: the bridge family's names and numbers differ from the others'. */
const BRIDGE_PRIORITY: Record<string, number> = {
  dstnat: -300,
  filter: -200,
  out: 100,
  srcnat: 300
}
/** Table objects Verdict does not need: their blocks are skipped. */
const OBJECTS = new Set([
  'flowtable',
  'counter',
  'quota',
  'limit',
  'secmark',
  'synproxy',
  'tunnel',
  'ct'
])
/** Commands that may start a line of an `nft -f` file outside table blocks. */
const COMMANDS = new Set([
  'add',
  'create',
  'insert',
  'replace',
  'delete',
  'destroy',
  'reset',
  'list',
  'rename'
])

/**
 * Returns the model of `nft list ruleset` output (or an `nft -f` file of
 * table blocks): tables, their chains with hook, priority and policy, and
 * each rule with its line and its text as written. Expressions Verdict does
 * not model are kept as 'unmodelled' Matches; what is not a rule at all is a
 * problem with its line.
 */
export function readNft(source: string, text: string): Ruleset {
  const problems: Problem[] = []
  const lines = text.split('\n')
  const rawLine = (n: number): string => (lines[n - 1] ?? '').replace(/\r$/, '')
  const report = (line: number, message: string): void => {
    problems.push(problem(source, `line ${line}`, message, rawLine(line)))
  }
  const lexed = lexNft(text)
  const { tokens, undefinedVars } = expandDefines(lexed.tokens)
  for (const t of undefinedVars) report(t.line, `variable ${t.text} is not defined`)

  const tables = new Map<string, TableState>()
  const pending: Pending[] = []
  let i = 0
  const peek = (k = 0): Token | undefined => tokens[i + k]

  /** Skips to the end of the statement, over balanced braces; stops before a closing brace. */
  const skipStatement = (): void => {
    let depth = 0
    while (i < tokens.length) {
      const t = tokens[i]
      if (depth === 0 && (endsStatement(t) || isPunct(t, '}'))) return
      if (isPunct(t, '{')) depth++
      if (isPunct(t, '}')) depth--
      i++
    }
  }
  /** The statement's tokens (newlines inside braces dropped), the cursor left at its end. */
  const statementTokens = (): Token[] => {
    const from = i
    skipStatement()
    return tokens.slice(from, i).filter((t) => t.kind !== 'nl')
  }
  /** Reads statements up to the block's closing brace (consumed and returned). */
  const block = (each: () => void): Token | undefined => {
    while (i < tokens.length) {
      const t = tokens[i]
      if (endsStatement(t)) i++
      else if (isPunct(t, '}')) return tokens[i++]
      else {
        const before = i
        each()
        if (i === before) i++
      }
    }
    return undefined
  }

  const tableBlock = (state: TableState): void => {
    const t = peek()!
    const w = t.kind === 'word' ? t.text : ''
    if ((w === 'chain' || w === 'set' || w === 'map') && isPunct(peek(2), '{')) {
      const name = peek(1)!.text
      i += 3
      if (w === 'chain') {
        let chain = state.table.chains.find((c) => c.name === name)
        if (!chain) state.table.chains.push((chain = { name, rules: [] }))
        chainBlock(state, chain)
      } else
        setBlock(state, {
          name,
          map: w === 'map',
          concat: false,
          flags: [],
          elements: [],
          line: t.line
        })
    } else if (w === 'flags') {
      const flags = statementTokens().slice(1)
      if (flags.some((f) => f.text === 'dormant'))
        report(
          t.line,
          `table ${state.table.name} is dormant: its chains see no packets, but are read as if active`
        )
    } else if (w === 'comment') skipStatement()
    else if (OBJECTS.has(w) && statementTokens().some((x) => isPunct(x, '{'))) {
      // A named counter, quota, flowtable, ct helper ...: not needed to follow a packet.
    } else {
      report(t.line, 'not a chain, set, map or object of a table')
      skipStatement()
    }
  }

  const chainBlock = (state: TableState, chain: Chain): Token | undefined => {
    let typeLine: number | undefined
    let policyLine: number | undefined
    return block(() => {
      const t = peek()!
      if (isWord(t, 'type') && isWord(peek(2), 'hook')) {
        typeLine = t.line
        baseChain(state, chain, statementTokens())
      } else if (isWord(t, 'policy')) {
        policyLine = t.line
        const v = statementTokens()[1]?.text
        if (v !== 'accept' && v !== 'drop')
          report(t.line, `policy '${v ?? ''}' is neither accept nor drop`)
        else if (!chain.base) report(t.line, `chain ${chain.name} has a policy but no hook`)
        else chain.base.policy = v
      } else if (isWord(t, 'devices', 'device')) {
        const names = deviceNames(statementTokens().slice(1))
        if (chain.base && names.length) chain.base.devices = names
      } else if (isWord(t, 'comment', 'flags')) skipStatement()
      else collectRule(state, chain)
      const line = policyLine ?? typeLine
      if (chain.base && line !== undefined) chain.policySource = { line, text: rawLine(line) }
    })
  }

  const baseChain = (state: TableState, chain: Chain, toks: Token[]): void => {
    const line = toks[0].line
    const type = toks[1].text
    const hook = toks[3]?.text as Hook
    const at = toks.findIndex((x) => isWord(x, 'priority'))
    const pol = toks.findIndex((x) => isWord(x, 'policy'))
    if (type !== 'filter' && type !== 'nat' && type !== 'route')
      report(line, `chain type '${type}' not understood`)
    if (!HOOKS.has(hook)) return report(line, `hook '${hook ?? ''}' not understood`)
    const prioText =
      at < 0
        ? ''
        : toks
            .slice(at + 1, pol < 0 ? undefined : pol)
            .map((x) => x.text)
            .join('')
    const priority = priorityValue(prioText, state.table.family)
    if (priority === undefined) report(line, `priority '${prioText}' not understood`)
    const policy = toks[pol + 1]?.text === 'drop' ? 'drop' : 'accept'
    const dev = toks.findIndex((x) => isWord(x, 'device', 'devices'))
    const devices = dev < 0 ? [] : deviceNames(toks.slice(dev + 1, at < 0 ? undefined : at))
    chain.base = {
      type: type === 'nat' || type === 'route' ? type : 'filter',
      hook,
      priority: priority ?? 0,
      policy: pol < 0 ? (chain.base?.policy ?? 'accept') : policy
    }
    if (devices.length) chain.base.devices = devices
  }

  const setBlock = (state: TableState, set: NftSet): void => {
    state.sets.set(set.name, set)
    block(() => {
      const t = peek()!
      if (isWord(t, 'type', 'typeof')) {
        const toks = statementTokens()
        const colon = toks.findIndex((x) => isWord(x, ':'))
        set.concat = toks.slice(0, colon < 0 ? undefined : colon).some((x) => isWord(x, '.'))
      } else if (isWord(t, 'flags')) {
        set.flags = statementTokens()
          .slice(1)
          .map((x) => x.text)
          .filter((x) => x !== ',')
      } else if (isWord(t, 'elements') && isWord(peek(1), '=') && isPunct(peek(2), '{')) {
        const toks = statementTokens()
        set.elements = splitElems(toks.slice(3, -1))
      } else skipStatement()
    })
  }

  const collectRule = (state: TableState, chain: Chain): void => {
    const toks: Token[] = []
    let depth = 0
    while (i < tokens.length) {
      const t = tokens[i]
      if (depth === 0 && (endsStatement(t) || isPunct(t, '}'))) break
      if (depth === 0 && isPunct(t, '{') && isWord(toks[toks.length - 1], 'jump', 'goto')) {
        // An anonymous chain (`jump { ... }`): read into a chain of its own, jumped to by name.
        const anon: Chain = { name: `__chain${state.anonymous++}`, rules: [] }
        state.table.chains.push(anon)
        i++
        const close = chainBlock(state, anon)
        toks.push({
          kind: 'word',
          text: anon.name,
          line: t.line,
          start: t.start,
          end: close?.end ?? t.end,
          endLine: close?.line ?? t.line,
          anonymous: true
        })
        continue
      }
      if (isPunct(t, '{') || isPunct(t, '(')) depth++
      if (isPunct(t, '}') || isPunct(t, ')')) depth--
      i++
      if (t.kind !== 'nl') toks.push(t)
    }
    if (toks.length) pending.push({ state, chain, toks })
  }

  while (i < tokens.length) {
    const t = tokens[i]
    if (endsStatement(t)) {
      i++
      continue
    }
    const w = t.kind === 'word' ? t.text : ''
    if (w === 'table') {
      let family: Family = 'ip'
      let nameAt = 1
      if (FAMILIES.has(peek(1)?.text as Family) && peek(2)?.kind !== 'punct') {
        family = peek(1)!.text as Family
        nameAt = 2
      }
      const name = peek(nameAt)?.text ?? ''
      if (!isPunct(peek(nameAt + 1), '{')) {
        report(t.line, 'expected table [FAMILY] NAME {')
        skipStatement()
        continue
      }
      i += nameAt + 2
      const id = `${family} ${name}`
      let state = tables.get(id)
      if (!state)
        tables.set(
          id,
          (state = { table: { family, name, chains: [] }, sets: new Map(), anonymous: 0 })
        )
      const s = state
      if (!block(() => tableBlock(s)))
        report(t.line, `table ${family} ${name} has no closing brace`)
    } else if (w === 'include') {
      report(t.line, `includes are not followed: ${peek(1)?.text ?? ''} is not read`)
      skipStatement()
    } else if (w === 'flush') {
      skipStatement()
    } else {
      report(
        t.line,
        COMMANDS.has(w)
          ? `the nft command '${w}' is not read; only table blocks are`
          : 'not a table block'
      )
      skipStatement()
      if (isPunct(peek(), '}')) i++
    }
  }

  readRules(pending, { text, rawLine, comments: lexed.comments, report })
  // Problems in the order of their lines (the second pass finds some after the first).
  const lineOf = (p: Problem): number => Number(p.at.slice('line '.length))
  problems.sort((a, b) => lineOf(a) - lineOf(b))
  return { system: 'nftables', source, tables: [...tables.values()].map((s) => s.table), problems }
}

/** Returns a chain priority written as a number, a name, or `NAME + N` / `NAME - N`. */
function priorityValue(text: string, family: Family): number | undefined {
  const m = /^([a-z]+)?([+-]?\d+)?$/.exec(text)
  if (!m || (m[1] === undefined && m[2] === undefined)) return undefined
  const names: Record<string, number> = family === 'bridge' ? BRIDGE_PRIORITY : PRIORITY
  const base = m[1] === undefined ? 0 : Object.hasOwn(names, m[1]) ? names[m[1]] : undefined
  return base === undefined ? undefined : base + Number(m[2] ?? 0)
}

/** Device names from `"eth0"`, `= { "eth0", "eth1" }` or `eth0` tokens, quotes taken off. */
function deviceNames(toks: Token[]): string[] {
  return toks
    .map((t) => t.text.replace(/^"(.*)"$/, '$1'))
    .filter((x) => x !== '' && !/^[={},;]$/.test(x))
}
