/**
 * firewalld verdicts from a real firewalld: each configuration under test/lab/firewalld/ is
 * loaded into a firewalld running in a lab namespace (firewalld-lab.ts: its own bus and
 * /etc/firewalld), real packets are sent to it and through it from the other namespaces, and
 * what the sender hears back is the kernel's verdict: an answer (SYN-ACK, a UDP or ICMP reply
 * from a server listening on every probed port) is accept, silence is drop, an RST or an ICMP
 * error quoting the probe is reject, with exactly that RST or ICMP type and code.
 *
 * 1. The harness checks itself: the kernel's verdict is the one a person reading the XML
 *    expects (the tables below).
 * 2. `evaluateFirewalld`, on the same files as firewalld reads them (the machine's
 *    /usr/lib/firewalld and the private /etc/firewalld), gives the same verdict and reject type.
 * 3. The chain Verdict names as deciding exists in the host's `nft list ruleset`. Where Verdict
 *    names a newer firewalld's dispatch chain (`filter_IN_public_to_HOST`) that this firewalld
 *    does not make, the zone chain that plays its part here (`filter_IN_public`) must exist, and
 *    the difference is printed.
 *
 * Topology: c (10.88.1.2, .20, .200) — eth0 fw eth1 — s (10.88.2.2); fw routes.
 * VERDICT_FIREWALLD_ROWS=1 prints every probe with both verdicts and the deciding setting.
 */
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parsePacketSpec, type PacketSpec } from '../../src-main/engine/evaluate/packet-spec'
import { evaluateFirewalld } from '../../src-main/engine/firewalld/evaluate-firewalld'
import type { FirewalldVerdict } from '../../src-main/engine/firewalld/model'
import { readFirewalld, type FirewalldFile } from '../../src-main/engine/firewalld/read-firewalld'
import {
  firewalldUnavailable,
  LAB_FIREWALLD_CONF,
  LabFirewalld,
  type EtcFile
} from './firewalld-lab'
import { filesUnder } from '../unit/engine/firewalld/load'
import { Lab, type Host } from './lab-host'

const DIR = resolve(import.meta.dirname, 'firewalld')
const PROBE = join(DIR, 'probe.py')
const SYSTEM = '/usr/lib/firewalld'

/** What the sender heard: accept, drop, `reject tcp-reset` or `reject icmp-T/C`. */
type Outcome = string
const ACCEPT = 'accept'
const DROP = 'drop'
const ADMIN = 'reject icmp-3/13'
const HOST_PROHIBITED = 'reject icmp-3/10'
const RST = 'reject tcp-reset'

/** One probe: who sends it, `PROTO SRC > DST[:PORT] [ICMP TYPE]`, and what a reader expects. */
interface Case {
  from: 'c' | 's'
  spec: string
  expect: Outcome
}

const c = (spec: string, expect: Outcome): Case => ({ from: 'c', spec, expect })
const s = (spec: string, expect: Outcome): Case => ({ from: 's', spec, expect })

const FW = '10.88.1.1'
const C1 = '10.88.1.2'
/** Inside 10.88.1.16/28, dropped by source-rich's priority -10 rule. */
const C20 = '10.88.1.20'
/** Inside 10.88.1.128/25, rejected by source-rich's reject rules. */
const C200 = '10.88.1.200'
const S = '10.88.2.2'
const FW_S = '10.88.2.1'

const SUITES: Record<string, Case[]> = {
  'public-services': [
    c(`tcp ${C1} > ${FW}:22`, ACCEPT),
    c(`tcp ${C1} > ${FW}:80`, ACCEPT),
    c(`tcp ${C1} > ${FW}:8080`, ACCEPT),
    c(`tcp ${C1} > ${FW}:8081`, ADMIN),
    c(`udp ${C1} > ${FW}:9999`, ACCEPT),
    c(`udp ${C1} > ${FW}:9998`, ADMIN),
    c(`icmp ${C1} > ${FW} echo-request`, ACCEPT),
    c(`icmp ${C1} > ${FW} timestamp-request`, ADMIN)
  ],
  'source-rich': [
    c(`tcp ${C1} > ${FW}:22`, ACCEPT),
    c(`tcp ${C1} > ${FW}:8080`, ACCEPT),
    c(`tcp ${C1} > ${FW}:23`, ADMIN),
    c(`icmp ${C1} > ${FW} echo-request`, ACCEPT),
    c(`tcp ${C20} > ${FW}:22`, DROP),
    c(`udp ${C20} > ${FW}:9999`, DROP),
    c(`icmp ${C20} > ${FW} echo-request`, DROP),
    c(`tcp ${C200} > ${FW}:22`, ACCEPT),
    c(`tcp ${C200} > ${FW}:8080`, ADMIN),
    c(`tcp ${C200} > ${FW}:8081`, HOST_PROHIBITED),
    c(`tcp ${C200} > ${FW}:443`, RST)
  ],
  'target-drop': [
    c(`tcp ${C1} > ${FW}:22`, ACCEPT),
    c(`tcp ${C1} > ${FW}:23`, DROP),
    c(`udp ${C1} > ${FW}:9999`, DROP),
    c(`icmp ${C1} > ${FW} echo-request`, DROP)
  ],
  'target-reject': [
    c(`tcp ${C1} > ${FW}:22`, ACCEPT),
    c(`tcp ${C1} > ${FW}:23`, ADMIN),
    c(`udp ${C1} > ${FW}:9999`, ADMIN),
    c(`icmp ${C1} > ${FW} echo-request`, ADMIN)
  ],
  'icmp-inversion': [
    c(`tcp ${C1} > ${FW}:22`, ACCEPT),
    c(`tcp ${C1} > ${FW}:23`, ADMIN),
    c(`icmp ${C1} > ${FW} echo-request`, ACCEPT),
    c(`icmp ${C1} > ${FW} timestamp-request`, ADMIN)
  ],
  'forward-policy': [
    c(`tcp ${C1} > ${S}:80`, ACCEPT),
    c(`tcp ${C1} > ${S}:81`, ADMIN),
    c(`udp ${C1} > ${S}:9999`, ACCEPT),
    c(`icmp ${C1} > ${S} echo-request`, ADMIN),
    c(`tcp ${C1} > ${FW}:22`, ACCEPT),
    s(`tcp ${S} > ${C1}:22`, ADMIN),
    s(`tcp ${S} > ${FW_S}:22`, ADMIN),
    s(`icmp ${S} > ${FW_S} echo-request`, ACCEPT)
  ]
}

/** Servers on every probed port, so an accepted probe is always answered. */
const SERVE = {
  fw: ['22,23,80,443,8080,8081', '9998,9999'],
  s: ['22,80,81', '9999'],
  c: ['22', '']
}

// ---------------------------------------------------------------------------------------------
// The configuration, as firewalld and as Verdict read it

function verdictFiles(etc: EtcFile[]): FirewalldFile[] {
  return [
    ...filesUnder(SYSTEM)
      .filter((f) => f.path.endsWith('.xml'))
      .map((f) => ({ path: `usr/lib/firewalld/${f.path}`, text: f.text })),
    { path: 'etc/firewalld/firewalld.conf', text: LAB_FIREWALLD_CONF },
    ...etc.map((f) => ({ path: `etc/firewalld/${f.path}`, text: f.text }))
  ]
}

// ---------------------------------------------------------------------------------------------
// Outcomes

const ICMP_CODES: Record<string, number> = {
  'net-unreachable': 0,
  'host-unreachable': 1,
  'prot-unreachable': 2,
  'port-unreachable': 3,
  'net-prohibited': 9,
  'host-prohibited': 10,
  'admin-prohibited': 13
}

/** What the sender hears when Verdict's verdict happens (IPv4). */
function verdictOutcome(v: FirewalldVerdict): Outcome {
  if (v.verdict !== 'reject') return v.verdict
  const w = v.rejectWith ?? ''
  if (w === 'tcp reset') return RST
  const m = /^icmpx? (\S+)$/.exec(w)
  const code = m ? ICMP_CODES[m[1]] : undefined
  return code === undefined ? `reject ${w}` : `reject icmp-3/${code}`
}

/** The kernel's verdict, from the probe's answer. */
function kernelOutcome(answer: string): Outcome {
  if (['synack', 'udp-reply', 'echo-reply', 'timestamp-reply'].includes(answer)) return ACCEPT
  if (answer === 'none') return DROP
  if (answer === 'rst') return RST
  if (answer.startsWith('icmp-')) return `reject ${answer}`
  return `unknown answer ${answer}`
}

// ---------------------------------------------------------------------------------------------
// The lab

const skipReason = firewalldUnavailable()
let why: string | undefined = skipReason
let lab: Lab | undefined
let fw: LabFirewalld | undefined
const hosts: Record<'c' | 's' | 'fw', Host | undefined> = {
  c: undefined,
  s: undefined,
  fw: undefined
}
let nextPort = 41000
let nextId = 3000
const layoutNotes = new Set<string>()

beforeAll(async () => {
  if (why) return
  lab = new Lab()
  const h = {
    c: await lab.host('c'),
    fw: await lab.host('fw', { router: true }),
    s: await lab.host('s')
  }
  Object.assign(hosts, h)
  await lab.link(
    { host: h.c, dev: 'eth0', v4: `${C1}/24` },
    { host: h.fw, dev: 'eth0', v4: `${FW}/24` }
  )
  await lab.link(
    { host: h.fw, dev: 'eth1', v4: `${FW_S}/24` },
    { host: h.s, dev: 'eth0', v4: `${S}/24` }
  )
  for (const a of [C20, C200]) await h.c.ip('addr', 'add', `${a}/24`, 'dev', 'eth0')
  await h.c.ip('route', 'add', '10.88.2.0/24', 'via', FW)
  await h.s.ip('route', 'add', '10.88.1.0/24', 'via', FW_S)
  for (const [name, [tcp, udp]] of Object.entries(SERVE)) {
    const p = h[name as keyof typeof h].spawn('python3', [PROBE, 'serve', tcp, udp])
    await p.waitFor(/ready/, `servers in ${name}`)
  }
  try {
    fw = await LabFirewalld.start(h.fw)
  } catch (e) {
    why = `firewalld could not be started in the lab: ${e instanceof Error ? e.message : String(e)}`
  }
}, 180_000)

afterAll(async () => {
  await fw?.stop()
  await lab?.close()
  if (layoutNotes.size > 0)
    console.info(
      `firewalld oracle: chain layout of this firewalld differs from the model:\n  ${[...layoutNotes].join('\n  ')}`
    )
})

/** The case's packet, from a source port (or ICMP id) no other probe used: each is a new flow. */
function packetOf(k: Case): { p: PacketSpec; id: number } {
  const udpTcp = /^(tcp|udp) (\S+) >/.exec(k.spec)
  const id = udpTcp ? nextPort++ : nextId++
  const spec = udpTcp ? k.spec.replace(udpTcp[0], `${udpTcp[1]} ${udpTcp[2]}:${id} >`) : k.spec
  const p = parsePacketSpec(spec)
  if (typeof p === 'string') throw new Error(`${k.spec}: ${p}`)
  return { p, id }
}

/** Sends one probe from its host and returns what came back. */
async function send(k: Case, p: PacketSpec, id: number): Promise<string> {
  const host = hosts[k.from] as Host
  const last = p.proto === 'icmp' ? String(p.icmpType) : String(p.dport)
  const out = await host.must('python3', [PROBE, p.proto, p.srcText, String(id), p.dstText, last])
  return out.trim()
}

/** Where the packet goes through fw, with fw's interface names. */
function pathOf(k: Case, p: PacketSpec): Parameters<typeof evaluateFirewalld>[2] {
  const iif = k.from === 'c' ? 'eth0' : 'eth1'
  if (p.dstText === FW || p.dstText === FW_S) return { path: 'input', iif }
  return { path: 'forward', iif, oif: k.from === 'c' ? 'eth1' : 'eth0' }
}

/** Whether the chain Verdict names exists here, or the older layout's equivalent does. */
function chainHere(chain: string, chains: Set<string>): boolean {
  if (chains.has(chain)) return true
  const m = /^(filter_(?:IN|FWD|OUT)_.+)_to_(.+)$/.exec(chain)
  if (m && chains.has(m[1])) {
    layoutNotes.add(`Verdict names ${chain}; this firewalld decides in ${m[1]}`)
    return true
  }
  return false
}

describe('firewalld in a namespace against evaluateFirewalld', () => {
  for (const [name, cases] of Object.entries(SUITES)) {
    it(
      name,
      async (ctx) => {
        if (why) {
          console.warn(`firewalld oracle (${name}) skipped: ${why}`)
          ctx.skip()
          return
        }
        const etc = filesUnder(join(DIR, name))
        const lfw = fw as LabFirewalld
        await lfw.load(etc)
        const ruleset = await lfw.ruleset()
        const chains = new Set([...ruleset.matchAll(/^\s*chain (\S+) \{/gm)].map((m) => m[1]))
        const config = readFirewalld(verdictFiles(etc))
        expect(config.problems.map((p) => `${p.source}: ${p.at}: ${p.message}`)).toEqual([])
        const rows: string[] = []
        const wrong: string[] = []
        for (const k of cases) {
          const { p, id } = packetOf(k)
          const answer = await send(k, p, id)
          const kernel = kernelOutcome(answer)
          const path = pathOf(k, p)
          const v = evaluateFirewalld(config, p, path)
          const ours = verdictOutcome(v)
          const row = `${k.spec} [${path.path}]: kernel ${kernel} (${answer}), Verdict ${ours} by ${v.decidedBy.kind} ${v.decidedBy.text} in ${v.chain}`
          rows.push(row)
          if (kernel !== k.expect) wrong.push(`expected ${k.expect}: ${row}`)
          if (ours !== kernel) wrong.push(`DISAGREES: ${row}`)
          if (!chainHere(v.chain, chains))
            wrong.push(`no chain ${v.chain} in nft list ruleset: ${row}`)
        }
        if (process.env.VERDICT_FIREWALLD_ROWS) console.info(`${name}:\n  ${rows.join('\n  ')}`)
        expect(wrong, `${rows.join('\n')}\n\nfirewalld said:\n${lfw.log}`).toEqual([])
      },
      120_000
    )
  }
})
