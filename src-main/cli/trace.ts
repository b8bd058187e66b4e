import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import {
  walkNetfilter,
  type PathKind,
  type RoutedPath,
  type WalkResult
} from '../engine/evaluate/walk-netfilter'
import { parsePacketSpec } from '../engine/evaluate/packet-spec'
import type { Cidr, CtState } from '../engine/rulesets/model'
import { parseCidr } from '../engine/rulesets/parse-address'
import { readRuleset } from '../engine/rulesets/read-ruleset'
import { readIpsetSave } from '../engine/rulesets/read-ipset'
import { detectTextKind } from '../engine/inputs/detect-kind'
import { firewalldTraceText, traceFirewalld } from './trace-firewalld'
import { append } from '../shared/append'

const USAGE =
  'usage: verdict trace RULESET [IPSET-SAVE...] | FIREWALLD-DIR|FILE... --packet SPEC [--path input|forward|output|bridge] [--ct STATE] [--iif NAME] [--oif NAME] [--bridge NAME] [--br-netfilter yes|no] [--local ADDR[/LEN],...] [--format text|json]\n' +
  '  SPEC: PROTO SRC[:PORT] > DST[:PORT] [WHAT] [key=value...], e.g. "tcp 10.0.0.1:40000 > 10.0.0.2:22 syn"\n' +
  '  facts: len=N (IP total length) ttl=N mark=N ctmark=N uid=N gid=N mac=02:00:00:00:00:01\n' +
  '         physin=PORT physout=PORT (bridge ports for -m physdev; none when it has none)\n' +
  '  --path bridge: a frame bridged between two ports of a bridge (--iif and --oif the ports, --bridge the\n' +
  '         bridge); --br-netfilter says whether br_netfilter passes it to the ip-family chains too\n' +
  "  --local: the host's own addresses (a prefix length places the subnet broadcast), for addrtype and fib type\n" +
  '  firewalld: a copy of /etc/firewalld (a folder), zone/policy/service XML, firewalld.conf or firewall-cmd --list-all-zones output'
const CT_STATES: CtState[] = ['new', 'established', 'related', 'invalid', 'untracked']

/** `verdict trace RULESET --packet SPEC ...`: returns the exit status. */
export async function runTrace(args: string[]): Promise<number> {
  const opts: Record<string, string> = { path: 'input', format: 'text' }
  const files: string[] = []
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE + '\n')
      return 0
    }
    const eq = /^--(packet|path|ct|iif|oif|local|format|bridge|br-netfilter)=(.*)$/.exec(a)
    if (eq) opts[eq[1]] = eq[2]
    else if (/^--(packet|path|ct|iif|oif|local|format|bridge|br-netfilter)$/.test(a))
      opts[a.slice(2)] = args[++i] ?? ''
    else if (a.startsWith('-')) return usage(`unknown option ${a}`)
    else files.push(a)
  }
  if (files.length === 0) return usage('give a ruleset file (and any ipset save snapshot it uses)')
  if (!opts.packet) return usage('--packet SPEC is required')
  if (!['input', 'forward', 'output', 'bridge'].includes(opts.path))
    return usage(`--path must be input, forward, output or bridge, not '${opts.path}'`)
  const brnf = opts['br-netfilter']
  if (brnf !== undefined && brnf !== 'yes' && brnf !== 'no')
    return usage(`--br-netfilter must be yes or no, not '${brnf}'`)
  if (opts.path !== 'bridge' && (opts.bridge !== undefined || brnf !== undefined))
    return usage('--bridge and --br-netfilter are for --path bridge')
  if (opts.ct !== undefined && !CT_STATES.includes(opts.ct as CtState))
    return usage(`--ct must be one of ${CT_STATES.join(', ')}`)
  if (opts.format !== 'text' && opts.format !== 'json')
    return usage(`--format must be text or json`)
  const packet = parsePacketSpec(opts.packet)
  if (typeof packet === 'string') return usage(packet)
  let local: Cidr[] | undefined
  if (opts.local !== undefined) {
    local = []
    for (const text of opts.local.split(',').filter((t) => t.trim() !== '')) {
      const c = parseCidr(text.trim())
      if (!c) return usage(`--local: address '${text}' not understood (ADDR or ADDR/LEN)`)
      local.push(c)
    }
  }
  const texts: { file: string; text: string; inFolder: boolean }[] = []
  for (const file of files) {
    try {
      if (statSync(file).isDirectory())
        for (const f of filesIn(file))
          texts.push({ file: f, text: readFileSync(f, 'utf8'), inFolder: true })
      else texts.push({ file, text: readFileSync(file, 'utf8'), inFolder: false })
    } catch (e) {
      process.stderr.write(`verdict: ${file}: ${(e as Error).message}\n`)
      return 1
    }
  }
  const isFirewalld = (t: { text: string }): boolean =>
    detectTextKind(t.text).format.startsWith('firewalld')
  if (texts.some(isFirewalld)) {
    if (opts.path === 'bridge')
      return usage(
        "firewalld's rules are not the bridge's: trace a bridged packet through nft or iptables"
      )
    const other = texts.find((t) => !isFirewalld(t) && !t.inFolder)
    if (other)
      return usage(`${other.file} is not firewalld configuration; trace one system at a time`)
    for (const t of texts)
      if (!isFirewalld(t))
        process.stderr.write(`verdict: ${t.file}: not firewalld configuration; skipped\n`)
    const { result, problems } = traceFirewalld(
      texts.filter(isFirewalld).map((t) => ({ path: t.file, text: t.text })),
      packet,
      {
        path: opts.path as RoutedPath,
        ct: opts.ct as CtState | undefined,
        iif: opts.iif,
        oif: opts.oif
      }
    )
    for (const p of problems) process.stderr.write(`verdict: ${p}\n`)
    process.stdout.write(
      opts.format === 'json' ? JSON.stringify(result, null, 2) + '\n' : firewalldTraceText(result)
    )
    return 0
  }
  // An `ipset save` snapshot beside the ruleset gives the sets its rules name.
  const isIpset = (t: { text: string }): boolean => detectTextKind(t.text).format === 'ipset'
  const ipsetFiles = texts.filter(isIpset)
  const rulesetFiles = texts.filter((t) => !isIpset(t))
  if (rulesetFiles.length !== 1)
    return usage('give exactly one ruleset file (iptables-save or nft)')
  const ruleset = readRuleset(rulesetFiles[0].file, rulesetFiles[0].text)
  if (typeof ruleset === 'string') {
    process.stderr.write(`verdict: ${ruleset}\n`)
    return 1
  }
  for (const f of ipsetFiles) {
    const { sets, problems } = readIpsetSave(f.file, f.text)
    append(ruleset.problems, problems)
    ruleset.ipsets ??= new Map()
    for (const [name, set] of sets) ruleset.ipsets.set(name, set)
  }
  for (const p of ruleset.problems)
    process.stderr.write(`verdict: ${p.source}: ${p.at}: ${p.message}\n`)
  const result = walkNetfilter(ruleset, packet, {
    path: opts.path as PathKind,
    ct: opts.ct as CtState | undefined,
    iif: opts.iif,
    oif: opts.oif,
    bridge: opts.bridge,
    brNetfilter: brnf === undefined ? undefined : brnf === 'yes',
    local
  })
  process.stdout.write(
    opts.format === 'json' ? JSON.stringify(result, null, 2) + '\n' : toText(result)
  )
  return 0
}

function toText(r: WalkResult): string {
  // A rule with a set or map is walked once per element: its misses are one line, as written.
  const steps: WalkResult['trace'] = []
  for (const s of r.trace) {
    const last = steps.at(-1)
    if (
      last &&
      !last.matched &&
      !s.matched &&
      s.kind === 'rule' &&
      last.kind === 'rule' &&
      last.line === s.line &&
      last.chain === s.chain &&
      last.table === s.table
    ) {
      if (s.note && !last.note?.split(' or ').includes(s.note))
        last.note = last.note ? `${last.note} or ${s.note}` : s.note
      continue
    }
    steps.push({ ...s })
  }
  const lines = steps.map((s) => {
    const where = `${s.hook} ${s.table}/${s.chain}`
    if (s.kind === 'policy') return `  ${where}: policy ${s.action}  (line ${s.line}: ${s.rule})`
    return `  ${where} line ${s.line}: ${s.matched ? `matched → ${s.action}` : `no (${s.note})`}  ${s.rule}`
  })
  const by = r.decidedBy
    ? ` by ${r.decidedBy.kind} at line ${r.decidedBy.line} (${r.decidedBy.table}/${r.decidedBy.chain}): ${r.decidedBy.rule}`
    : ' (no rule or policy decided: nothing hooks this path)'
  const head = `${r.verdict.toUpperCase()}${r.rejectWith ? ` with ${r.rejectWith}` : ''}${by}\nconntrack state: ${r.ct}${r.dnatTo ? `\ndestination translated to ${r.dnatTo}` : ''}${r.uncertain ? `\nUNCERTAIN: ${r.uncertainWhy.join('; ')}` : ''}`
  return `${head}\n${lines.join('\n')}\n`
}

function filesIn(dir: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name < b.name ? -1 : 1
  )) {
    const full = join(dir, e.name)
    if (e.isDirectory()) append(out, filesIn(full))
    else if (e.isFile()) out.push(full)
  }
  return out
}

function usage(message: string): number {
  process.stderr.write(`verdict trace: ${message}\n${USAGE}\n`)
  return 2
}
