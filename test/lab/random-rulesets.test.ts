/**
 * Generated rulesets (iptables-save and nft inet, INPUT path) checked against the kernel: every
 * packet's kernel verdict and deciding rule (text and line, or the policy line) must equal what
 * `verdict trace` says.
 *
 * Seeds: iptables ruleset i uses seed BASE + i, nft ruleset i BASE + 100000 + i; BASE comes from
 * VERDICT_FUZZ_SEED (default below), the counts from VERDICT_FUZZ_COUNT (default 20) and
 * VERDICT_FUZZ_NFT_COUNT (default 8). Replay a failing iptables seed S with VERDICT_FUZZ_SEED=S
 * VERDICT_FUZZ_COUNT=1 (an nft seed S with VERDICT_FUZZ_SEED=S-100000 VERDICT_FUZZ_NFT_COUNT=1);
 * VERDICT_LAB_VERBOSE=1 prints the rulesets and the kernel's answers.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI, verdict } from '../support/run'
import {
  kernelOracleUnavailable,
  kernelVerdicts,
  type KernelVerdict,
  type RulesetFormat
} from './kernel-verdicts'
import { generateIptables, generateNft, type Generated } from './random-rulesets'

const BASE = Number(process.env.VERDICT_FUZZ_SEED ?? 7001)
const COUNT = Number(process.env.VERDICT_FUZZ_COUNT ?? 20)
const NFT_COUNT = Number(process.env.VERDICT_FUZZ_NFT_COUNT ?? 8)

interface TraceOutput {
  verdict?: string
  decidedBy?: { kind?: string; table?: string; chain?: string; line?: number; rule?: string }
}

/** Runs `tasks` with at most `limit` at a time; results in order. */
async function limited<T>(limit: number, tasks: Array<() => Promise<T>>): Promise<T[]> {
  const out: T[] = new Array<T>(tasks.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++
      out[i] = await tasks[i]()
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker))
  return out
}

interface Answer {
  kernel: KernelVerdict
  out?: TraceOutput
  raw: string
}

/** Loads one generated ruleset into the kernel and asks `verdict trace` about every packet. */
async function answers(g: Generated, dir: string, format: RulesetFormat): Promise<Answer[]> {
  const file = join(dir, `seed-${g.seed}.${format === 'nft' ? 'nft' : 'rules'}`)
  writeFileSync(file, g.text)
  const kernel = await kernelVerdicts(file, format, g.packets, 'input')
  const traced = await limited(
    4,
    g.packets.map((p) => async () => {
      const args = ['trace', file, '--packet', p.packet, '--path', 'input', '--ct', p.ct]
      const ran = await verdict([...args, '--iif', 'eth0', '--format', 'json'])
      const raw = `exit ${ran.code}\n${ran.stdout}\n${ran.stderr}`
      try {
        return { out: JSON.parse(ran.stdout) as TraceOutput, raw }
      } catch {
        return { raw }
      }
    })
  )
  if (process.env.VERDICT_LAB_VERBOSE) console.info(g.text, JSON.stringify(kernel, null, 1))
  return kernel.map((k, i) => ({ kernel: k, ...traced[i] }))
}

/** The comparison: verdict, and the deciding rule's kind, chain, text, line and table. */
function compare(g: Generated, i: number, a: Answer): void {
  const k = a.kernel
  const about = `seed ${g.seed}, ${g.packets[i].packet} (ct ${g.packets[i].ct})\n${g.text}\nkernel: ${JSON.stringify(
    { verdict: k.verdict, decidedBy: k.decidedBy, kernelCt: k.kernelCt }
  )}\nverdict trace: ${a.raw}`
  // The harness made the state it claims.
  expect(k.kernelCt, about).toBe(g.packets[i].ct)
  if (!a.out) throw new Error(`no JSON from verdict trace: ${about}`)
  const by = a.out.decidedBy ?? {}
  expect(a.out.verdict, about).toBe(k.verdict)
  expect(by.kind, about).toBe(k.decidedBy?.kind)
  expect(by.chain, about).toBe(k.decidedBy?.chain)
  expect(by.rule, about).toBe(k.decidedBy?.ruleText)
  expect(by.line, about).toBe(k.decidedBy?.line)
  const table = k.decidedBy?.table
  expect([table, `${k.decidedBy?.family} ${table}`], about).toContain(by.table)
}

const unavailable =
  kernelOracleUnavailable() ?? (existsSync(CLI) ? undefined : `${CLI} is not built`)
if (unavailable) console.warn(`kernel lab (generated rulesets) skipped: ${unavailable}`)

/** Generates `count` rulesets of a format from seed `base` on, and compares every packet. */
function suite(
  format: RulesetFormat,
  generate: (seed: number) => Generated,
  base: number,
  count: number
): void {
  const generated = Array.from({ length: count }, (_, i) => generate(base + i))
  const results = new Map<number, Answer[] | Error>()
  let dir = ''

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vdt-fuzz-'))
    const started = Date.now()
    const all = await limited(
      6,
      generated.map((g) => async () => answers(g, dir, format).catch((e: unknown) => e as Error))
    )
    generated.forEach((g, i) => results.set(g.seed, all[i]))
    const pairs = generated.reduce((n, g) => n + g.packets.length, 0)
    // How the kernel decided: whether the generator reaches rules, user chains and policies.
    const tally = new Map<string, number>()
    for (const a of all) {
      if (a instanceof Error) continue
      for (const { kernel: k } of a) {
        const where = /^(?:INPUT|input)$/.test(k.decidedBy?.chain ?? '') ? 'input' : 'user chain'
        const how = `${k.verdict} by ${k.decidedBy?.kind ?? '?'} in ${where}`
        tally.set(how, (tally.get(how) ?? 0) + 1)
      }
    }
    console.info(
      `generated ${format} rulesets: seeds ${base}..${base + count - 1}, ${pairs} packet/ruleset pairs in ${Date.now() - started} ms`,
      JSON.stringify(Object.fromEntries(tally))
    )
  }, 300_000)

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  for (const g of generated) {
    it(`seed ${g.seed}: ${g.packets.length} packets`, () => {
      const got = results.get(g.seed)
      if (!got) throw new Error('no answer')
      if (got instanceof Error) throw new Error(`seed ${g.seed}: ${got.message}\n${g.text}`)
      got.forEach((a, i) => compare(g, i, a))
    })
  }
}

describe.skipIf(unavailable !== undefined)('generated rulesets: kernel vs verdict trace', () => {
  describe('iptables-save, INPUT', () => suite('iptables', generateIptables, BASE, COUNT))
  describe('nft inet, input', () => suite('nft', generateNft, BASE + 100_000, NFT_COUNT))
})
