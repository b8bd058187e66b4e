/**
 * firewalld verdicts from a real firewalld: each configuration under test/lab/firewalld/ is
 * loaded into a firewalld running in a lab namespace (firewalld-lab.ts: its own bus and
 * /etc/firewalld; the configuration's own firewalld.conf if it has one, else the lab's), real
 * IPv4 and IPv6 packets are sent to it and through it from the other namespaces, and what the
 * sender hears back is the kernel's verdict: an answer (SYN-ACK, a UDP or ICMP reply from a
 * server listening on every probed port) is accept, silence is drop, an RST or an ICMP or ICMPv6
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
 * 4. The kernel's own log lines (LogDenied and rich rule `log`, read with dmesg between marks
 *    this run writes to /dev/kmsg, while net.netfilter.nf_log_all_netns is held at 1): each
 *    probe's prefixes are exactly those `evaluateFirewalld` lists in `logs`, and chain-names.ts
 *    reads each LogDenied prefix back to the zone or policy and setting Verdict says decided.
 *
 * Topology: c (10.88.1.2, .20, .200; fd88:1::2, ::1:20, ::2:200, ::2:201) — eth0 fw eth1 —
 * s (10.88.2.2; fd88:2::2); fw routes both families.
 * VERDICT_FIREWALLD_ROWS=1 prints every probe with both verdicts, the deciding setting and the
 * log prefixes; VERDICT_FIREWALLD_RULESET=1 prints each configuration's nft ruleset.
 */
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parsePacketSpec, type PacketSpec } from '../../src-main/engine/evaluate/packet-spec'
import {
  evaluateFirewalld,
  type FirewalldPath
} from '../../src-main/engine/firewalld/evaluate-firewalld'
import { readFirewalld, type FirewalldFile } from '../../src-main/engine/firewalld/read-firewalld'
import {
  firewalldUnavailable,
  holdNetnsLogging,
  KernelLog,
  LAB_FIREWALLD_CONF,
  LabFirewalld,
  type EtcFile
} from './firewalld-lab'
import {
  ACCEPT,
  ADDR6,
  ADMIN,
  ADMIN6,
  checkLogs,
  DROP,
  HOST_PROHIBITED,
  kernelOutcome,
  NO_ROUTE6,
  PORT6,
  RST,
  verdictOutcome,
  type Outcome,
  type Sent
} from './firewalld/oracle-checks'
import { filesUnder } from '../unit/engine/firewalld/load'
import { Lab, type Host } from './lab-host'

const DIR = resolve(import.meta.dirname, 'firewalld')
const PROBE = join(DIR, 'probe.py')
const SYSTEM = '/usr/lib/firewalld'

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
const BROADCAST = '255.255.255.255'
const FW6 = 'fd88:1::1'
const C1_6 = 'fd88:1::2'
/** Inside fd88:1::1:0/112, logged and dropped by source-rich's priority -10 rule. */
const C20_6 = 'fd88:1::1:20'
/** Inside fd88:1::2:0/112 (source-rich's IPv6 reject rules); .200 is also rejected on 8443. */
const C200_6 = 'fd88:1::2:200'
const C201_6 = 'fd88:1::2:201'
const S6 = 'fd88:2::2'
const FW_S6 = 'fd88:2::1'
/** 10.0.0.1 in 6to4 form (RFC 3964 §5.1): routed by fw towards s, rejected by firewalld first. */
const SIX_TO_FOUR = '2002:a00::1'

const SUITES: Record<string, Case[]> = {
  'public-services': [
    c(`tcp ${C1} > ${FW}:22`, ACCEPT),
    c(`tcp ${C1} > ${FW}:80`, ACCEPT),
    c(`tcp ${C1} > ${FW}:8080`, ACCEPT),
    c(`tcp ${C1} > ${FW}:8081`, ADMIN),
    c(`udp ${C1} > ${FW}:9999`, ACCEPT),
    c(`udp ${C1} > ${FW}:9998`, ADMIN),
    c(`icmp ${C1} > ${FW} echo-request`, ACCEPT),
    c(`icmp ${C1} > ${FW} timestamp-request`, ADMIN),
    c(`tcp ${C1_6} > [${FW6}]:22`, ACCEPT),
    c(`tcp ${C1_6} > [${FW6}]:80`, ACCEPT),
    c(`tcp ${C1_6} > [${FW6}]:8080`, ACCEPT),
    c(`tcp ${C1_6} > [${FW6}]:8081`, ADMIN6),
    c(`udp ${C1_6} > [${FW6}]:9999`, ACCEPT),
    c(`udp ${C1_6} > [${FW6}]:9998`, ADMIN6),
    c(`icmpv6 ${C1_6} > ${FW6} echo-request`, ACCEPT),
    // An icmp-block of a type that exists for IPv6 (timestamp-request does not).
    c(`icmpv6 ${C1_6} > ${FW6} router-solicitation`, ADMIN6)
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
    c(`tcp ${C200} > ${FW}:443`, RST),
    // The IPv6 rules for 8443 do not apply to IPv4.
    c(`tcp ${C200} > ${FW}:8443`, ADMIN),
    c(`tcp ${C1_6} > [${FW6}]:22`, ACCEPT),
    c(`tcp ${C1_6} > [${FW6}]:8080`, ACCEPT),
    c(`tcp ${C1_6} > [${FW6}]:23`, ADMIN6),
    c(`icmpv6 ${C1_6} > ${FW6} echo-request`, ACCEPT),
    c(`tcp ${C20_6} > [${FW6}]:22`, DROP),
    c(`udp ${C20_6} > [${FW6}]:9999`, DROP),
    c(`icmpv6 ${C20_6} > ${FW6} echo-request`, DROP),
    c(`tcp ${C200_6} > [${FW6}]:22`, ACCEPT),
    c(`tcp ${C200_6} > [${FW6}]:8080`, ADMIN6),
    c(`tcp ${C200_6} > [${FW6}]:8081`, ADDR6),
    c(`tcp ${C200_6} > [${FW6}]:443`, RST),
    c(`tcp ${C200_6} > [${FW6}]:23`, NO_ROUTE6),
    c(`udp ${C200_6} > [${FW6}]:9998`, PORT6),
    // Logged by the accept rule of the /112 in _log, then rejected by the /128's rule in _deny.
    c(`tcp ${C200_6} > [${FW6}]:8443`, PORT6),
    c(`tcp ${C201_6} > [${FW6}]:8443`, ACCEPT)
  ],
  'target-drop': [
    c(`tcp ${C1} > ${FW}:22`, ACCEPT),
    c(`tcp ${C1} > ${FW}:23`, DROP),
    c(`udp ${C1} > ${FW}:9999`, DROP),
    c(`icmp ${C1} > ${FW} echo-request`, DROP),
    c(`tcp ${C1_6} > [${FW6}]:22`, ACCEPT),
    c(`tcp ${C1_6} > [${FW6}]:23`, DROP),
    c(`udp ${C1_6} > [${FW6}]:9999`, DROP),
    c(`icmpv6 ${C1_6} > ${FW6} echo-request`, DROP)
  ],
  // Its firewalld.conf logs denied broadcasts only.
  'target-reject': [
    c(`tcp ${C1} > ${FW}:22`, ACCEPT),
    c(`tcp ${C1} > ${FW}:23`, ADMIN),
    c(`udp ${C1} > ${FW}:9999`, ADMIN),
    c(`icmp ${C1} > ${FW} echo-request`, ADMIN),
    // Rejected too, but no ICMP error answers a broadcast (RFC 1122 §3.2.2).
    c(`udp ${C1} > ${BROADCAST}:9999`, DROP),
    c(`tcp ${C1_6} > [${FW6}]:22`, ACCEPT),
    c(`tcp ${C1_6} > [${FW6}]:23`, ADMIN6),
    c(`udp ${C1_6} > [${FW6}]:9999`, ADMIN6),
    c(`icmpv6 ${C1_6} > ${FW6} echo-request`, ADMIN6),
    c(`icmpv6 ${C1_6} > ${FW6} router-solicitation`, ADMIN6)
  ],
  'icmp-inversion': [
    c(`tcp ${C1} > ${FW}:22`, ACCEPT),
    c(`tcp ${C1} > ${FW}:23`, ADMIN),
    c(`icmp ${C1} > ${FW} echo-request`, ACCEPT),
    c(`icmp ${C1} > ${FW} timestamp-request`, ADMIN),
    c(`tcp ${C1_6} > [${FW6}]:22`, ACCEPT),
    c(`tcp ${C1_6} > [${FW6}]:23`, ADMIN6),
    c(`icmpv6 ${C1_6} > ${FW6} echo-request`, ACCEPT),
    c(`icmpv6 ${C1_6} > ${FW6} router-solicitation`, ADMIN6)
  ],
  'forward-policy': [
    c(`tcp ${C1} > ${S}:80`, ACCEPT),
    c(`tcp ${C1} > ${S}:81`, ADMIN),
    c(`udp ${C1} > ${S}:9999`, ACCEPT),
    c(`icmp ${C1} > ${S} echo-request`, ADMIN),
    // The policy's ssh rule is for IPv6 only.
    c(`tcp ${C1} > ${S}:22`, ADMIN),
    c(`tcp ${C1} > ${FW}:22`, ACCEPT),
    s(`tcp ${S} > ${C1}:22`, ADMIN),
    s(`tcp ${S} > ${FW_S}:22`, ADMIN),
    s(`icmp ${S} > ${FW_S} echo-request`, ACCEPT),
    c(`tcp ${C1_6} > [${S6}]:80`, ACCEPT),
    c(`tcp ${C1_6} > [${S6}]:81`, ADMIN6),
    c(`udp ${C1_6} > [${S6}]:9999`, ACCEPT),
    c(`icmpv6 ${C1_6} > ${S6} echo-request`, ADMIN6),
    c(`tcp ${C1_6} > [${S6}]:22`, ACCEPT),
    c(`tcp ${C1_6} > [${FW6}]:22`, ACCEPT),
    c(`tcp ${C1_6} > [${SIX_TO_FOUR}]:80`, ADDR6),
    s(`tcp ${S6} > [${C1_6}]:22`, ADMIN6),
    s(`tcp ${S6} > [${FW_S6}]:22`, ADMIN6),
    s(`icmpv6 ${S6} > ${FW_S6} echo-request`, ACCEPT)
  ]
}

/** Servers on every probed port, so an accepted probe is always answered. */
const SERVE = {
  fw: ['22,23,80,443,8080,8081,8443', '9998,9999'],
  s: ['22,80,81', '9999'],
  c: ['22', '']
}

// ---------------------------------------------------------------------------------------------
// The configuration, as firewalld and as Verdict read it

/** The configuration's own firewalld.conf, or the lab's. */
function confOf(etc: EtcFile[]): string {
  return etc.find((f) => f.path === 'firewalld.conf')?.text ?? LAB_FIREWALLD_CONF
}

function verdictFiles(etc: EtcFile[]): FirewalldFile[] {
  return [
    ...filesUnder(SYSTEM)
      .filter((f) => f.path.endsWith('.xml'))
      .map((f) => ({ path: `usr/lib/firewalld/${f.path}`, text: f.text })),
    { path: 'etc/firewalld/firewalld.conf', text: confOf(etc) },
    ...etc
      .filter((f) => f.path !== 'firewalld.conf')
      .map((f) => ({ path: `etc/firewalld/${f.path}`, text: f.text }))
  ]
}

// ---------------------------------------------------------------------------------------------
// The lab

const skipReason = firewalldUnavailable()
let why: string | undefined = skipReason
/** Why the kernel's log lines cannot be read here; the verdicts are checked all the same. */
let logWhy: string | undefined
let lab: Lab | undefined
let fw: LabFirewalld | undefined
let releaseLogging: (() => Promise<void>) | undefined
const kernelLog = new KernelLog()
const hosts: Record<'c' | 's' | 'fw', Host | undefined> = {
  c: undefined,
  s: undefined,
  fw: undefined
}
/** The MAC address each sender's frames carry into fw: its lines in the kernel log are ours. */
const macs: Record<'c' | 's', string> = { c: '', s: '' }
let nextPort = 41000
let nextId = 3000
const layoutNotes = new Set<string>()

beforeAll(async () => {
  if (why) return
  lab = new Lab()
  const h = {
    c: await lab.host('c', { ipv6: true }),
    fw: await lab.host('fw', { router: true, ipv6: true }),
    s: await lab.host('s', { ipv6: true })
  }
  Object.assign(hosts, h)
  await lab.link(
    { host: h.c, dev: 'eth0', v4: `${C1}/24`, v6: `${C1_6}/64` },
    { host: h.fw, dev: 'eth0', v4: `${FW}/24`, v6: `${FW6}/64` }
  )
  await lab.link(
    { host: h.fw, dev: 'eth1', v4: `${FW_S}/24`, v6: `${FW_S6}/64` },
    { host: h.s, dev: 'eth0', v4: `${S}/24`, v6: `${S6}/64` }
  )
  for (const a of [C20, C200]) await h.c.ip('addr', 'add', `${a}/24`, 'dev', 'eth0')
  for (const a of [C20_6, C200_6, C201_6])
    await h.c.ip('-6', 'addr', 'add', `${a}/64`, 'dev', 'eth0', 'nodad')
  await h.c.ip('route', 'add', '10.88.2.0/24', 'via', FW)
  await h.s.ip('route', 'add', '10.88.1.0/24', 'via', FW_S)
  await h.c.ip('-6', 'route', 'add', 'fd88:2::/64', 'via', FW6)
  await h.s.ip('-6', 'route', 'add', 'fd88:1::/64', 'via', FW_S6)
  await h.c.ip('-6', 'route', 'add', '2002::/16', 'via', FW6)
  await h.fw.ip('-6', 'route', 'add', '2002::/16', 'via', S6)
  macs.c = await h.c.mac('eth0')
  macs.s = await h.s.mac('eth0')
  for (const [name, [tcp, udp]] of Object.entries(SERVE)) {
    const p = h[name as keyof typeof h].spawn('python3', [PROBE, 'serve', tcp, udp])
    await p.waitFor(/ready/, `servers in ${name}`)
  }
  try {
    fw = await LabFirewalld.start(h.fw)
  } catch (e) {
    why = `firewalld could not be started in the lab: ${e instanceof Error ? e.message : String(e)}`
    return
  }
  try {
    releaseLogging = await holdNetnsLogging()
  } catch (e) {
    logWhy = `net.netfilter.nf_log_all_netns could not be set: ${e instanceof Error ? e.message : String(e)}`
    return
  }
  try {
    await kernelLog.linesSince(kernelLog.mark('start'))
  } catch (e) {
    logWhy = `the kernel log cannot be written or read: ${e instanceof Error ? e.message : String(e)}`
  }
}, 180_000)

afterAll(async () => {
  try {
    await releaseLogging?.()
  } finally {
    await fw?.stop()
    await lab?.close()
  }
  if (layoutNotes.size > 0)
    console.info(
      `firewalld oracle: chain layout of this firewalld differs from the model:\n  ${[...layoutNotes].join('\n  ')}`
    )
  if (logWhy) console.warn(`firewalld oracle: log lines not checked: ${logWhy}`)
})

/** The case's packet, from a source port (or ICMP id) no other probe used: each is a new flow. */
function packetOf(k: Case): { p: PacketSpec; id: number } {
  const udpTcp = /^(tcp|udp) (\S+) >/.exec(k.spec)
  const id = udpTcp ? nextPort++ : nextId++
  const src = udpTcp?.[2].includes(':') ? `[${udpTcp[2]}]` : udpTcp?.[2]
  const spec = udpTcp ? k.spec.replace(udpTcp[0], `${udpTcp[1]} ${src}:${id} >`) : k.spec
  const p = parsePacketSpec(spec)
  if (typeof p === 'string') throw new Error(`${k.spec}: ${p}`)
  return { p, id }
}

/** Sends one probe from its host and returns what came back. */
async function send(k: Case, p: PacketSpec, id: number): Promise<string> {
  const host = hosts[k.from] as Host
  const last = p.proto === 'icmp' || p.proto === 'icmpv6' ? String(p.icmpType) : String(p.dport)
  const out = await host.must('python3', [PROBE, p.proto, p.srcText, String(id), p.dstText, last])
  return out.trim()
}

/** Where the packet goes through fw, with fw's interface names. */
function pathOf(k: Case, p: PacketSpec): FirewalldPath {
  const iif = k.from === 'c' ? 'eth0' : 'eth1'
  if ([FW, FW_S, FW6, FW_S6, BROADCAST].includes(p.dstText)) return { path: 'input', iif }
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
        if (process.env.VERDICT_FIREWALLD_RULESET) console.info(ruleset)
        const chains = new Set([...ruleset.matchAll(/^\s*chain (\S+) \{/gm)].map((m) => m[1]))
        const config = readFirewalld(verdictFiles(etc))
        expect(config.problems.map((p) => `${p.source}: ${p.at}: ${p.message}`)).toEqual([])
        const rows: string[] = []
        const wrong: string[] = []
        const sent: Sent[] = []
        const mark = logWhy ? undefined : kernelLog.mark(name)
        for (const k of cases) {
          const { p, id } = packetOf(k)
          const answer = await send(k, p, id)
          const kernel = kernelOutcome(answer)
          const path = pathOf(k, p)
          const v = evaluateFirewalld(config, p, path)
          sent.push({ spec: k.spec, p, id, mac: macs[k.from], path, v })
          const ours = verdictOutcome(v, p)
          const row = `${k.spec} [${path.path}]: kernel ${kernel} (${answer}), Verdict ${ours} by ${v.decidedBy.kind} ${v.decidedBy.text} in ${v.chain}`
          rows.push(row)
          if (kernel !== k.expect) wrong.push(`expected ${k.expect}: ${row}`)
          if (ours !== kernel) wrong.push(`DISAGREES: ${row}`)
          if (!chainHere(v.chain, chains))
            wrong.push(`no chain ${v.chain} in nft list ruleset: ${row}`)
        }
        if (mark) {
          kernelLog.mark(`${name} done`)
          const lines = await kernelLog.linesSince(mark)
          wrong.push(...checkLogs(lines, sent, config, (ch) => chainHere(ch, chains), rows))
        }
        if (process.env.VERDICT_FIREWALLD_ROWS) console.info(`${name}:\n  ${rows.join('\n  ')}`)
        expect(wrong, `${rows.join('\n')}\n\nfirewalld said:\n${lfw.log}`).toEqual([])
      },
      180_000
    )
  }
})
