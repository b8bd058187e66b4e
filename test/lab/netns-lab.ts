/**
 * A real-kernel capture lab: test hosts in network namespaces joined by veth pairs, tcpdump and
 * dumpcap running inside them, traffic made by small Node scripts, ping and raw frames.
 *
 * Every namespace, interface and process belongs to one run (names start `vdt<pid><random>`), all
 * traffic stays between those namespaces, and only per-namespace sysctls are changed. Interfaces
 * are created directly inside their namespaces, so nothing ever appears in the root namespace.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hasProgram, run, type Ran } from '../support/run'

// ---------------------------------------------------------------------------------------------
// Availability

let unavailable: { reason: string | undefined } | undefined

/** Returns why the lab cannot run here (not root, a tool missing, no namespaces), or undefined. */
export function labUnavailable(): string | undefined {
  if (unavailable) return unavailable.reason
  unavailable = { reason: probe() }
  return unavailable.reason
}

function probe(): string | undefined {
  if (process.platform !== 'linux')
    return `the kernel lab needs Linux (this is ${process.platform})`
  if (typeof process.getuid !== 'function' || process.getuid() !== 0)
    return 'the kernel lab needs root'
  for (const tool of ['ip', 'tcpdump', 'tshark', 'dumpcap', 'nft', 'iptables', 'ping']) {
    if (!hasProgram(tool)) return `the kernel lab needs ${tool}, which is not on the PATH`
  }
  const ns = `vdt${process.pid}probe${randomBytes(2).toString('hex')}`
  try {
    execFileSync('ip', ['netns', 'add', ns], { stdio: 'pipe' })
  } catch (e) {
    return `\`ip netns add\` failed: ${errorText(e)}`
  }
  try {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'pipe' })
  } catch {
    // Nothing else to do; the probe namespace holds no interfaces or processes.
  }
  return undefined
}

function errorText(e: unknown): string {
  const stderr = (e as { stderr?: Buffer | string }).stderr
  const text = stderr ? String(stderr).trim() : ''
  return text || (e instanceof Error ? e.message : String(e))
}

// ---------------------------------------------------------------------------------------------
// Processes

/** A process started inside a namespace, with everything it printed so far. */
export class Proc {
  stdout = ''
  stderr = ''
  exitCode: number | null = null
  readonly exited: Promise<number | null>
  private listeners: Array<() => void> = []

  constructor(readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8')
    child.stderr?.setEncoding('utf8')
    child.stdout?.on('data', (d: string) => {
      this.stdout += d
      this.notify()
    })
    child.stderr?.on('data', (d: string) => {
      this.stderr += d
      this.notify()
    })
    this.exited = new Promise((resolveExit) => {
      child.on('error', (e) => {
        this.stderr += String(e)
        this.exitCode = -1
        this.notify()
        resolveExit(-1)
      })
      child.on('close', (code, signal) => {
        this.exitCode = code ?? (signal ? 128 : -1)
        this.notify()
        resolveExit(this.exitCode)
      })
    })
  }

  get running(): boolean {
    return this.exitCode === null
  }

  /** Resolves once `re` matches stdout or stderr; rejects if the process exits first or time runs out. */
  waitFor(re: RegExp, what: string, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolveWait, reject) => {
      const check = (): boolean => {
        if (re.test(this.stdout) || re.test(this.stderr)) {
          finish()
          resolveWait()
          return true
        }
        if (!this.running) {
          finish()
          reject(
            new Error(
              `${what} exited (${this.exitCode}) before it was ready: ${this.stderr.trim()}`
            )
          )
          return true
        }
        return false
      }
      const timer = setTimeout(() => {
        finish()
        reject(new Error(`${what} was not ready after ${timeoutMs} ms: ${this.stderr.trim()}`))
      }, timeoutMs)
      const listener = (): void => void check()
      const finish = (): void => {
        clearTimeout(timer)
        this.listeners = this.listeners.filter((l) => l !== listener)
      }
      if (check()) return
      this.listeners.push(listener)
    })
  }

  /** Sends `signal` and waits for the exit; escalates to SIGKILL after `graceMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 3_000): Promise<number | null> {
    if (this.running && this.child.pid !== undefined) {
      try {
        process.kill(this.child.pid, signal)
      } catch {
        // Already gone.
      }
      const timer = setTimeout(() => {
        if (this.running && this.child.pid !== undefined) {
          try {
            process.kill(this.child.pid, 'SIGKILL')
          } catch {
            // Already gone.
          }
        }
      }, graceMs)
      await this.exited
      clearTimeout(timer)
    }
    return this.exitCode
  }

  private notify(): void {
    for (const l of [...this.listeners]) l()
  }
}

// ---------------------------------------------------------------------------------------------
// Hosts

/** A test host: one network namespace. */
export class Host {
  readonly procs: Proc[] = []

  constructor(
    readonly lab: Lab,
    /** The short name used in the scenario ("c", "r", "s"). */
    readonly name: string,
    /** The namespace's name. */
    readonly ns: string
  ) {}

  /** Runs a program inside the namespace to completion. */
  exec(cmd: string, args: string[], timeoutMs = 30_000): Promise<Ran> {
    return run('ip', ['netns', 'exec', this.ns, cmd, ...args], { timeoutMs })
  }

  /** Runs a program inside the namespace and throws when it fails. */
  async must(cmd: string, args: string[], timeoutMs?: number): Promise<string> {
    const ran = await this.exec(cmd, args, timeoutMs)
    if (ran.code !== 0) {
      throw new Error(
        `${this.ns}: ${cmd} ${args.join(' ')} failed (${ran.code}): ${ran.stderr.trim()}`
      )
    }
    return ran.stdout
  }

  /** Runs `ip ARGS` inside the namespace. */
  ip(...args: string[]): Promise<string> {
    return this.must('ip', args)
  }

  /** Sets a sysctl of this namespace only; with `optional`, says whether the kernel has it. */
  async sysctl(key: string, value: string | number, optional = false): Promise<boolean> {
    const ran = await this.exec('sysctl', ['-q', '-w', `${key}=${value}`])
    if (ran.code !== 0 && !optional)
      throw new Error(`${this.ns}: sysctl ${key}=${value}: ${ran.stderr.trim()}`)
    return ran.code === 0
  }

  /** Loads an nft ruleset (the text of `nft -f`) into this namespace. */
  async nft(ruleset: string): Promise<void> {
    const file = this.lab.file(`${this.ns}-${randomBytes(3).toString('hex')}.nft`)
    writeFileSync(file, ruleset)
    await this.must('nft', ['-f', file])
  }

  /** The interface's index inside this namespace. */
  async ifindex(dev: string): Promise<number> {
    return (await this.linkInfo(dev)).ifindex
  }

  /** The interface's MAC address. */
  async mac(dev: string): Promise<string> {
    return (await this.linkInfo(dev)).address
  }

  private async linkInfo(dev: string): Promise<{ ifindex: number; address: string }> {
    const out = await this.ip('-j', 'link', 'show', 'dev', dev)
    const parsed = JSON.parse(out) as Array<{ ifindex: number; address: string }>
    if (parsed.length !== 1) throw new Error(`${this.ns}: no interface ${dev}`)
    return parsed[0]
  }

  /** Starts a long-running program inside the namespace; the lab stops it when the host goes. */
  spawn(cmd: string, args: string[]): Proc {
    const child = spawn('ip', ['netns', 'exec', this.ns, cmd, ...args], {
      stdio: ['ignore', 'pipe', 'pipe']
    })
    const proc = new Proc(child)
    this.procs.push(proc)
    return proc
  }
}

// ---------------------------------------------------------------------------------------------
// The lab

/** Options for a new host. */
export interface HostOptions {
  /** Keep IPv6 on (default off: an IPv4-only host sends no MLD or router solicitations). */
  ipv6?: boolean
  /** Forward packets between interfaces (IPv4 and, with `ipv6`, IPv6). */
  router?: boolean
}

/** Options for one end of a veth pair. */
export interface LinkEnd {
  host: Host
  dev: string
  mtu?: number
  /** IPv4 address with prefix, e.g. "10.77.0.1/24". */
  v4?: string
  /** IPv6 address with prefix, added with `nodad`. */
  v6?: string
}

const ETHTOOL = hasProgram('ethtool')

/** One run of the lab: its namespaces, processes and capture directory. */
export class Lab {
  /** The prefix of every namespace this run makes. */
  readonly id = `vdt${process.pid}${randomBytes(2).toString('hex')}`
  /** Where captures and other files go. */
  readonly dir = mkdtempSync(join(tmpdir(), 'verdict-lab-'))
  private readonly hosts = new Set<Host>()
  private readonly onExit = (): void => this.closeSync()

  constructor() {
    process.once('exit', this.onExit)
  }

  /** A path inside the lab's directory. */
  file(name: string): string {
    return join(this.dir, name)
  }

  /** Makes a namespace with loopback up, no IPv6 DAD and no ICMP rate limits. */
  async host(name: string, opts: HostOptions = {}): Promise<Host> {
    const ns = `${this.id}-${name}`
    await must('ip', ['netns', 'add', ns])
    const host = new Host(this, name, ns)
    this.hosts.add(host)
    await host.ip('link', 'set', 'lo', 'up')
    // Defaults are set before any interface exists, so the veths inherit them.
    const v6 = opts.ipv6 ? 0 : 1
    await host.sysctl('net.ipv6.conf.all.disable_ipv6', v6)
    await host.sysctl('net.ipv6.conf.default.disable_ipv6', v6)
    await host.sysctl('net.ipv6.conf.all.accept_dad', 0)
    await host.sysctl('net.ipv6.conf.default.accept_dad', 0)
    await host.sysctl('net.ipv6.conf.default.router_solicitations', 0)
    // ICMP errors are rate limited per peer: several in a row must all be sent.
    await host.sysctl('net.ipv4.icmp_ratelimit', 0)
    await host.sysctl('net.ipv6.icmp.ratelimit', 0)
    if (opts.router) {
      await host.sysctl('net.ipv4.ip_forward', 1)
      if (opts.ipv6) await host.sysctl('net.ipv6.conf.all.forwarding', 1)
    }
    return host
  }

  /**
   * Joins two hosts with a veth pair, created directly in their namespaces, with segmentation
   * offloads off so every captured frame is a wire-sized packet.
   */
  async link(a: LinkEnd, b: LinkEnd): Promise<void> {
    await must('ip', [
      'link',
      'add',
      a.dev,
      'netns',
      a.host.ns,
      'type',
      'veth',
      'peer',
      'name',
      b.dev,
      'netns',
      b.host.ns
    ])
    for (const end of [a, b]) {
      const { host, dev } = end
      if (end.mtu !== undefined) await host.ip('link', 'set', 'dev', dev, 'mtu', String(end.mtu))
      // Without ethtool, one segment per GSO packet keeps TCP from building super-packets.
      await host.exec('ip', ['link', 'set', 'dev', dev, 'gso_max_segs', '1'])
      if (ETHTOOL) await host.exec('ethtool', ['-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off'])
      if (end.v4) await host.ip('addr', 'add', end.v4, 'dev', dev)
      if (end.v6) await host.ip('-6', 'addr', 'add', end.v6, 'dev', dev, 'nodad')
      await host.ip('link', 'set', 'dev', dev, 'up')
    }
  }

  /** Stops every process of these hosts and deletes their namespaces (and so their veths). */
  async remove(...hosts: Host[]): Promise<void> {
    for (const host of hosts) {
      await Promise.all(host.procs.map((p) => p.stop('SIGTERM')))
      // Anything else still inside (a client cut short) was started by this lab too.
      const pids = await run('ip', ['netns', 'pids', host.ns])
      for (const pid of pids.stdout.split('\n').filter((l) => /^\d+$/.test(l))) {
        try {
          process.kill(Number(pid), 'SIGKILL')
        } catch {
          // Already gone.
        }
      }
      await run('ip', ['netns', 'del', host.ns])
      this.hosts.delete(host)
    }
  }

  /** Removes every remaining host and, unless VERDICT_LAB_KEEP is set, the capture directory. */
  async close(): Promise<void> {
    await this.remove(...this.hosts)
    process.removeListener('exit', this.onExit)
    if (process.env.VERDICT_LAB_KEEP) console.warn(`kernel lab: captures kept in ${this.dir}`)
    else rmSync(this.dir, { recursive: true, force: true })
  }

  /** Last-resort cleanup when the process exits without `close()`. */
  private closeSync(): void {
    for (const host of this.hosts) {
      for (const p of host.procs) {
        if (p.running && p.child.pid !== undefined) {
          try {
            process.kill(p.child.pid, 'SIGKILL')
          } catch {
            // Already gone.
          }
        }
      }
      try {
        execFileSync('ip', ['netns', 'del', host.ns], { stdio: 'ignore' })
      } catch {
        // Nothing more can be done while exiting.
      }
    }
    if (!process.env.VERDICT_LAB_KEEP) rmSync(this.dir, { recursive: true, force: true })
  }

  // -------------------------------------------------------------------------------------------
  // Captures

  /** Starts a capture inside `host` and resolves once it is really listening. */
  async capture(host: Host, opts: CaptureOptions): Promise<Capture> {
    const file = this.file(opts.file)
    const tool = opts.tool ?? 'tcpdump'
    let proc: Proc
    if (tool === 'tcpdump') {
      // Immediate mode hands every packet over at once; its ring holds whole snapshot-length
      // slots, so a short snapshot (frames here are at most ~1.5 kB) and a larger buffer keep a
      // burst from overflowing it.
      const args = ['-Z', 'root', '--immediate-mode', '-U', '-n', '-s', '4096', '-B', '8192']
      args.push('-i', opts.ifaces[0], '-w', file)
      if (opts.nano) args.push('--time-stamp-precision=nano')
      if (opts.filter) args.push(opts.filter)
      proc = host.spawn('tcpdump', args)
      await proc.waitFor(/listening on/, `tcpdump -i ${opts.ifaces[0]} in ${host.ns}`)
    } else {
      // dumpcap writes pcapng by default; -n says so explicitly.
      const args = ['-q', '-n', '-w', file]
      for (const i of opts.ifaces) args.push('-i', i)
      if (opts.filter) args.push('-f', opts.filter)
      proc = host.spawn('dumpcap', args)
      await proc.waitFor(/Capturing on/, `dumpcap -i ${opts.ifaces.join(',')} in ${host.ns}`)
    }
    // tcpdump runs in immediate mode; dumpcap's ring hands packets over only when a block retires
    // (a few hundred ms); the kernel batches NFLOG messages for up to a second (its default flush
    // timeout). Whatever is still held back at SIGINT is lost, so each waits that long first.
    const nflog = opts.ifaces.some((i) => i.startsWith('nflog'))
    const drainMs = nflog ? 1_500 : tool === 'dumpcap' ? 1_000 : 150
    return new Capture(file, tool, proc, drainMs)
  }
}

/** What to capture and how. */
export interface CaptureOptions {
  /** File name inside the lab directory. */
  file: string
  /** Interfaces: a device, "any" or "nflog:N"; dumpcap takes several. */
  ifaces: string[]
  tool?: 'tcpdump' | 'dumpcap'
  /** tcpdump --time-stamp-precision=nano. */
  nano?: boolean
  filter?: string
}

/** A running capture. */
export class Capture {
  constructor(
    readonly file: string,
    readonly tool: 'tcpdump' | 'dumpcap',
    readonly proc: Proc,
    /** How long packets may take to reach the file after they were sent. */
    readonly drainMs: number
  ) {}

  /** Stops the capture cleanly (SIGINT, wait for exit) and returns the complete file's path. */
  async stop(): Promise<string> {
    await sleep(this.drainMs)
    if (!this.proc.running) {
      throw new Error(`${this.tool} for ${this.file} died early: ${this.proc.stderr.trim()}`)
    }
    await this.proc.stop('SIGINT', 5_000)
    const dropped = /(\d+) packets? dropped by kernel/.exec(this.proc.stderr)
    if (dropped && dropped[1] !== '0') {
      throw new Error(`${this.tool} dropped packets for ${this.file}: ${this.proc.stderr.trim()}`)
    }
    return this.file
  }
}

/** Runs a command in the root namespace that only touches our namespaces; throws on failure. */
async function must(cmd: string, args: string[]): Promise<string> {
  const ran = await run(cmd, args)
  if (ran.code !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed (${ran.code}): ${ran.stderr.trim()}`)
  return ran.stdout
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** The link type in a pcap file's header (1 Ethernet, 113 SLL, 276 SLL2, 239 NFLOG). */
export function pcapLinkType(file: string): number {
  const b = readFileSync(file)
  const magic = b.readUInt32LE(0)
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d
  return le ? b.readUInt32LE(20) : b.readUInt32BE(20)
}

/** The first four bytes of a file as hex, little-endian order as stored ("d4c3b2a1", "0a0d0d0a"). */
export function fileMagic(file: string): string {
  return readFileSync(file).subarray(0, 4).toString('hex')
}

// ---------------------------------------------------------------------------------------------
// Traffic: small Node programs run inside the namespaces

/** A TCP server: answers `reply` bytes and closes once it has read `expect` bytes. */
const SERVER = `
const net = require('node:net')
const o = JSON.parse(process.argv[1])
const srv = net.createServer((s) => {
  let got = 0
  let answered = false
  s.on('error', () => {})
  s.on('data', (d) => {
    got += d.length
    if (!answered && got >= o.expect) {
      answered = true
      s.end(Buffer.alloc(o.reply, 0x76))
    }
  })
})
srv.listen(o.port, o.host, () => process.stdout.write('listening\\n'))
`

/** A TCP client: connects from a fixed port, sends `send` bytes, reads until the server closes. */
const CLIENT = `
const net = require('node:net')
const o = JSON.parse(process.argv[1])
const out = { connected: false, sent: 0, received: 0, error: null }
let done = false
const finish = () => {
  if (done) return
  done = true
  clearTimeout(timer)
  process.stdout.write(JSON.stringify(out) + '\\n')
}
const s = net.connect({ host: o.host, port: o.port, localPort: o.localPort })
const timer = setTimeout(() => {
  if (out.error === null) out.error = 'timeout'
  s.destroy()
  finish()
}, o.timeoutMs)
s.on('connect', () => {
  out.connected = true
  if (o.send > 0) {
    s.write(Buffer.alloc(o.send, 0x63))
    out.sent = o.send
  }
})
s.on('data', (d) => { out.received += d.length })
s.on('error', (e) => { out.error = e.code || String(e) })
s.on('close', finish)
`

/** A UDP client: sends one datagram from a fixed port and waits a little for an error. */
const UDP_CLIENT = `
const dgram = require('node:dgram')
const o = JSON.parse(process.argv[1])
const s = dgram.createSocket(o.host.includes(':') ? 'udp6' : 'udp4')
const out = { error: null }
s.on('error', (e) => { out.error = e.code || String(e) })
s.bind(o.localPort, () => {
  s.send(Buffer.from(o.payload), o.port, o.host, (e) => {
    if (e) out.error = e.code || String(e)
    setTimeout(() => { s.close(); process.stdout.write(JSON.stringify(out) + '\\n') }, o.waitMs)
  })
})
`

/** What a TCP client saw. */
export interface ClientResult {
  connected: boolean
  sent: number
  received: number
  /** Node's error code: ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH... or "timeout" (ours). */
  error: string | null
}

/** Starts a TCP server in `host` and resolves once it listens. */
export async function tcpServer(
  host: Host,
  opts: { host: string; port: number; expect: number; reply: number }
): Promise<Proc> {
  const proc = host.spawn(process.execPath, ['-e', SERVER, JSON.stringify(opts)])
  await proc.waitFor(/listening/, `TCP server ${opts.host}:${opts.port} in ${host.ns}`)
  return proc
}

/** Runs a TCP client in `host` to completion. */
export async function tcpClient(
  host: Host,
  opts: { host: string; port: number; localPort: number; send: number; timeoutMs: number }
): Promise<ClientResult> {
  const ran = await host.exec(
    process.execPath,
    ['-e', CLIENT, JSON.stringify(opts)],
    opts.timeoutMs + 10_000
  )
  if (ran.code !== 0) throw new Error(`TCP client in ${host.ns} failed: ${ran.stderr.trim()}`)
  return JSON.parse(ran.stdout) as ClientResult
}

/** Sends one UDP datagram from `host`. */
export async function udpSend(
  host: Host,
  opts: { host: string; port: number; localPort: number; payload: string; waitMs: number }
): Promise<void> {
  const ran = await host.exec(process.execPath, ['-e', UDP_CLIENT, JSON.stringify(opts)])
  if (ran.code !== 0) throw new Error(`UDP client in ${host.ns} failed: ${ran.stderr.trim()}`)
}

/** Pings `dst` `count` times from `host`; throws unless every request was answered. */
export async function ping(host: Host, dst: string, count: number): Promise<void> {
  const args = ['-n', '-c', String(count), '-i', '0.2', '-W', '2', dst]
  if (dst.includes(':')) args.unshift('-6')
  const ran = await host.exec('ping', args)
  if (ran.code !== 0)
    throw new Error(`ping ${dst} from ${host.ns} failed: ${ran.stdout}${ran.stderr}`)
}

/** Starts every capture, runs `traffic`, then stops every capture; returns their files in order. */
async function capturing<T>(
  lab: Lab,
  specs: Array<[Host, CaptureOptions]>,
  traffic: () => Promise<T>
): Promise<{ files: string[]; result: T }> {
  const captures = await Promise.all(specs.map(([h, o]) => lab.capture(h, o)))
  let result: T
  try {
    result = await traffic()
  } catch (e) {
    await Promise.all(captures.map((c) => c.proc.stop('SIGKILL')))
    throw e
  }
  const files = await Promise.all(captures.map((c) => c.stop()))
  return { files, result }
}

// ---------------------------------------------------------------------------------------------
// Scenarios. Each builds its own hosts, so all of them can run at once, and removes them again.

/** Addresses of the two-host scenarios: client 10.77.0.1 (c0) — server 10.77.0.2 (s0). */
export const PAIR = { client: '10.77.0.1', server: '10.77.0.2' } as const

async function pair(lab: Lab, tag: string): Promise<{ c: Host; s: Host }> {
  const c = await lab.host(`${tag}-c`)
  const s = await lab.host(`${tag}-s`)
  await lab.link(
    { host: c, dev: 'c0', v4: `${PAIR.client}/24` },
    { host: s, dev: 's0', v4: `${PAIR.server}/24` }
  )
  return { c, s }
}

/** The handshake scenario's captures: the same conversation written four ways. */
export interface HandshakeCaptures {
  /** tcpdump -i s0 on the server: Ethernet, microseconds. */
  ether: string
  /** tcpdump -i any on the server: Linux cooked capture. */
  any: string
  /** tcpdump -i c0 --time-stamp-precision=nano on the client. */
  nano: string
  /** dumpcap -i c0 on the client: pcapng. */
  pcapng: string
  /** s0's ifindex inside the server's namespace. */
  serverIfindex: number
  client: ClientResult
}

/** The handshake scenario's constants. */
export const HANDSHAKE = { port: 7000, clientPort: 40000, request: 100, reply: 1000 } as const

/** (a) A completed TCP handshake, 100 bytes up, 1000 bytes down, FIN from both sides. */
export async function handshakeScenario(lab: Lab): Promise<HandshakeCaptures> {
  const { c, s } = await pair(lab, 'hs')
  try {
    const serverIfindex = await s.ifindex('s0')
    await tcpServer(s, {
      host: PAIR.server,
      port: HANDSHAKE.port,
      expect: HANDSHAKE.request,
      reply: HANDSHAKE.reply
    })
    const { files, result } = await capturing(
      lab,
      [
        [s, { file: 'handshake-ether.pcap', ifaces: ['s0'] }],
        [s, { file: 'handshake-any.pcap', ifaces: ['any'] }],
        [c, { file: 'handshake-nano.pcap', ifaces: ['c0'], nano: true }],
        [c, { file: 'handshake.pcapng', ifaces: ['c0'], tool: 'dumpcap' }]
      ],
      () =>
        tcpClient(c, {
          host: PAIR.server,
          port: HANDSHAKE.port,
          localPort: HANDSHAKE.clientPort,
          send: HANDSHAKE.request,
          timeoutMs: 5_000
        })
    )
    const [ether, any, nano, pcapng] = files
    return { ether, any, nano, pcapng, serverIfindex, client: result }
  } finally {
    await lab.remove(c, s)
  }
}

/** The drop scenario's constants. */
export const DROP = {
  port: 7001,
  clientPort: 40001,
  group: 5,
  dropPrefix: 'vdt-drop: ',
  rawPrefix: 'vdt-raw: ',
  /** SYNs the client sends before it gives up: the first and two retransmissions. */
  syns: 3
} as const

/** The drop scenario's captures. */
export interface DropCaptures {
  /** tcpdump -i c0 on the client. */
  client: string
  /** tcpdump -i nflog:5 on the server. */
  nflog: string
  result: ClientResult
}

/**
 * (b) A SYN into an nft DROP rule that logs to NFLOG group 5, with an iptables NFLOG rule in
 * raw PREROUTING before it; the client gives up half a second after its second retransmission.
 */
export async function dropScenario(lab: Lab): Promise<DropCaptures> {
  const { c, s } = await pair(lab, 'drop')
  try {
    // SYNs leave at 0, 1, 2, 3 s where SYN timeouts start linear (Linux 6.x,
    // tcp_syn_linear_timeouts) and at 0, 1, 3, 7 s where they double from the start. The kernel's
    // own give-up time does not follow the count of retransmissions there, so the client stops
    // by itself between the third and the fourth SYN.
    const linear = await c.sysctl('net.ipv4.tcp_syn_linear_timeouts', 4, true)
    const giveUpMs = linear ? 2_500 : 3_500
    await s.nft(`table inet vdt {
  chain input {
    type filter hook input priority filter; policy accept;
    tcp dport ${DROP.port} log group ${DROP.group} prefix "${DROP.dropPrefix}" drop
  }
}
`)
    await s.must('iptables', [
      '-t',
      'raw',
      '-A',
      'PREROUTING',
      '-p',
      'tcp',
      '--dport',
      String(DROP.port),
      '-j',
      'NFLOG',
      '--nflog-group',
      String(DROP.group),
      '--nflog-prefix',
      DROP.rawPrefix
    ])
    const { files, result } = await capturing(
      lab,
      [
        [c, { file: 'drop-client.pcap', ifaces: ['c0'] }],
        [s, { file: 'drop-nflog.pcap', ifaces: [`nflog:${DROP.group}`] }]
      ],
      () =>
        tcpClient(c, {
          host: PAIR.server,
          port: DROP.port,
          localPort: DROP.clientPort,
          send: 0,
          timeoutMs: giveUpMs
        })
    )
    return { client: files[0], nflog: files[1], result }
  } finally {
    await lab.remove(c, s)
  }
}

/** The reset scenario's constants. */
export const RESET = {
  rejectPort: 7002,
  rejectClientPort: 40002,
  closedPort: 7003,
  closedClientPort: 40003
} as const

/** The reset scenario's captures and what the clients saw. */
export interface ResetCaptures {
  /** tcpdump -i c0 on the client. */
  client: string
  /** tcpdump -i any on the server. */
  any: string
  rejected: ClientResult
  closed: ClientResult
}

/** (c) A SYN into `REJECT --reject-with tcp-reset`, and a SYN to a closed port (the kernel's RST). */
export async function resetScenario(lab: Lab): Promise<ResetCaptures> {
  const { c, s } = await pair(lab, 'rst')
  try {
    await s.must('iptables', [
      '-A',
      'INPUT',
      '-p',
      'tcp',
      '--dport',
      String(RESET.rejectPort),
      '-j',
      'REJECT',
      '--reject-with',
      'tcp-reset'
    ])
    const { files, result } = await capturing(
      lab,
      [
        [c, { file: 'reset-client.pcap', ifaces: ['c0'] }],
        [s, { file: 'reset-any.pcap', ifaces: ['any'] }]
      ],
      async () => {
        const rejected = await tcpClient(c, {
          host: PAIR.server,
          port: RESET.rejectPort,
          localPort: RESET.rejectClientPort,
          send: 0,
          timeoutMs: 5_000
        })
        const closed = await tcpClient(c, {
          host: PAIR.server,
          port: RESET.closedPort,
          localPort: RESET.closedClientPort,
          send: 0,
          timeoutMs: 5_000
        })
        return { rejected, closed }
      }
    )
    return { client: files[0], any: files[1], ...result }
  } finally {
    await lab.remove(c, s)
  }
}

/** The unreachable scenario's constants: each probe's destination and source port. */
export const UNREACH = {
  udpReject: { port: 7004, clientPort: 40004 },
  udpClosed: { port: 7005, clientPort: 40005 },
  tcpAdmin: { port: 7006, clientPort: 40006 },
  tcpReject: { port: 7007, clientPort: 40007 }
} as const

/** The unreachable scenario's captures. */
export interface UnreachCaptures {
  /** tcpdump -i c0 on the client. */
  client: string
  /** dumpcap -i s0 on the server: pcapng. */
  server: string
  admin: ClientResult
  rejected: ClientResult
}

/**
 * (d) ICMP errors: UDP into iptables REJECT (port unreachable), UDP to a closed port (the
 * kernel's port unreachable), TCP into nft `reject with icmpx type admin-prohibited` (type 3
 * code 13) and TCP into a default iptables REJECT (port unreachable quoting a TCP header).
 */
export async function unreachableScenario(lab: Lab): Promise<UnreachCaptures> {
  const { c, s } = await pair(lab, 'unr')
  try {
    await s.must('iptables', [
      '-A',
      'INPUT',
      '-p',
      'udp',
      '--dport',
      String(UNREACH.udpReject.port),
      '-j',
      'REJECT'
    ])
    await s.must('iptables', [
      '-A',
      'INPUT',
      '-p',
      'tcp',
      '--dport',
      String(UNREACH.tcpReject.port),
      '-j',
      'REJECT'
    ])
    await s.nft(`table inet vdt {
  chain input {
    type filter hook input priority filter; policy accept;
    tcp dport ${UNREACH.tcpAdmin.port} reject with icmpx type admin-prohibited
  }
}
`)
    const { files, result } = await capturing(
      lab,
      [
        [c, { file: 'unreach-client.pcap', ifaces: ['c0'] }],
        [s, { file: 'unreach-server.pcapng', ifaces: ['s0'], tool: 'dumpcap' }]
      ],
      async () => {
        for (const u of [UNREACH.udpReject, UNREACH.udpClosed]) {
          await udpSend(c, {
            host: PAIR.server,
            port: u.port,
            localPort: u.clientPort,
            payload: 'verdict',
            waitMs: 200
          })
        }
        const admin = await tcpClient(c, {
          host: PAIR.server,
          port: UNREACH.tcpAdmin.port,
          localPort: UNREACH.tcpAdmin.clientPort,
          send: 0,
          timeoutMs: 5_000
        })
        const rejected = await tcpClient(c, {
          host: PAIR.server,
          port: UNREACH.tcpReject.port,
          localPort: UNREACH.tcpReject.clientPort,
          send: 0,
          timeoutMs: 5_000
        })
        return { admin, rejected }
      }
    )
    return { client: files[0], server: files[1], ...result }
  } finally {
    await lab.remove(c, s)
  }
}

/** (g) Three pings answered; tcpdump -i c0 on the client. */
export async function pingScenario(lab: Lab): Promise<{ client: string }> {
  const { c, s } = await pair(lab, 'ping')
  try {
    const { files } = await capturing(
      lab,
      [[c, { file: 'ping-client.pcap', ifaces: ['c0'] }]],
      () => ping(c, PAIR.server, 3)
    )
    return { client: files[0] }
  } finally {
    await lab.remove(c, s)
  }
}

/** Addresses and sizes of the routed scenarios: client — router — server, small router→server link. */
export const ROUTED = {
  v4: {
    client: '10.77.1.1',
    routerIn: '10.77.1.254',
    routerOut: '10.77.2.254',
    server: '10.77.2.1',
    mtu: 1300,
    port: 7200,
    clientPort: 40200
  },
  v6: {
    client: 'fd77:1::1',
    routerIn: 'fd77:1::fe',
    routerOut: 'fd77:2::fe',
    server: 'fd77:2::1',
    mtu: 1280,
    port: 7300,
    clientPort: 40300
  },
  /** Bytes the client sends: more than one full-sized segment. */
  send: 4000,
  reply: 2
} as const

/** A routed scenario's captures. */
export interface RoutedCaptures {
  /** tcpdump -i c0 on the client. */
  client: string
  /** dumpcap -i r0 -i r1 on the router: pcapng with two interfaces (0 = r0, 1 = r1). */
  router: string
  /** tcpdump -i any on the router. */
  routerAny: string
  /** r0's and r1's ifindex inside the router's namespace. */
  ifindex: { r0: number; r1: number }
  result: ClientResult
}

async function routed(lab: Lab, family: 'v4' | 'v6'): Promise<RoutedCaptures> {
  const a = ROUTED[family]
  const v6 = family === 'v6'
  const tag = v6 ? 'ptb' : 'fn'
  const c = await lab.host(`${tag}-c`, { ipv6: v6 })
  const r = await lab.host(`${tag}-r`, { ipv6: v6, router: true })
  const s = await lab.host(`${tag}-s`, { ipv6: v6 })
  try {
    const addr = (ip: string, len: number): { v4?: string; v6?: string } =>
      v6 ? { v6: `${ip}/${len}` } : { v4: `${ip}/${len}` }
    await lab.link(
      { host: c, dev: 'c0', ...addr(a.client, v6 ? 64 : 24) },
      { host: r, dev: 'r0', ...addr(a.routerIn, v6 ? 64 : 24) }
    )
    // Only the router's side of the second link is small: the server advertises a full MSS, so
    // the client's full-sized segments reach the router and cannot go on.
    await lab.link(
      { host: r, dev: 'r1', mtu: a.mtu, ...addr(a.routerOut, v6 ? 64 : 24) },
      { host: s, dev: 's0', ...addr(a.server, v6 ? 64 : 24) }
    )
    const fam = v6 ? '-6' : '-4'
    await c.ip(fam, 'route', 'add', 'default', 'via', a.routerIn)
    await s.ip(fam, 'route', 'add', 'default', 'via', a.routerOut)
    const ifindex = { r0: await r.ifindex('r0'), r1: await r.ifindex('r1') }
    await tcpServer(s, { host: a.server, port: a.port, expect: ROUTED.send, reply: ROUTED.reply })
    const { files, result } = await capturing(
      lab,
      [
        [c, { file: `${tag}-client.pcap`, ifaces: ['c0'] }],
        [r, { file: `${tag}-router.pcapng`, ifaces: ['r0', 'r1'], tool: 'dumpcap' }],
        [r, { file: `${tag}-router-any.pcap`, ifaces: ['any'] }]
      ],
      async () => {
        const res = await tcpClient(c, {
          host: a.server,
          port: a.port,
          localPort: a.clientPort,
          send: ROUTED.send,
          timeoutMs: 8_000
        })
        if (v6) await ping(c, a.server, 2)
        return res
      }
    )
    return { client: files[0], router: files[1], routerAny: files[2], ifindex, result }
  } finally {
    await lab.remove(c, r, s)
  }
}

/** (e) IPv4 frag-needed: the router's 1300-byte link answers the client's DF segments with ICMP 3/4. */
export function fragNeededScenario(lab: Lab): Promise<RoutedCaptures> {
  return routed(lab, 'v4')
}

/** (f) IPv6 packet too big from the router's 1280-byte link (ICMPv6 type 2), and two pings across. */
export function packetTooBigScenario(lab: Lab): Promise<RoutedCaptures> {
  return routed(lab, 'v6')
}

// ---------------------------------------------------------------------------------------------
// VLAN

/** Addresses and tags of the VLAN scenario. */
export const VLAN = {
  id: 100,
  outer: 200,
  a: '10.77.100.1',
  b: '10.77.100.2',
  a6: 'fd77:100::1',
  b6: 'fd77:100::2',
  port: 7100,
  clientPort: 40100,
  udpPort: 7101,
  udpClientPort: 40101,
  synSeq: 1_000_000,
  /** Priority code point on the injected SYN's tag: the VLAN id must be read without it. */
  pcp: 5
} as const

/** The VLAN scenario's captures. */
export interface VlanCaptures {
  /**
   * "subinterface": real traffic over `type vlan id 100` devices (needs the 8021q module);
   * "injected": tagged frames written to a packet socket on a0 (kernels without 8021q).
   */
  mode: 'subinterface' | 'injected'
  /** tcpdump -i b0 on the receiving host: Ethernet with 802.1Q tags. */
  receiver: string
  /** tcpdump -i a0 on the sending host. */
  sender: string
  /** tcpdump -i any on the receiving host. */
  receiverAny: string
  /** b0's ifindex inside the receiving host's namespace. */
  receiverIfindex: number
}

/** Whether raw frames can be injected (perl opens the packet socket). */
export function vlanUnavailable(): string | undefined {
  return hasProgram('perl') ? undefined : 'injecting VLAN-tagged frames needs perl'
}

/** Writes each hex frame to a packet socket bound to interface number ARGV[0]. */
const INJECT = `
socket(my $s, 17, 3, 0) or die "socket: $!";
bind($s, pack('S n i S C C a8', 17, 0, shift @ARGV, 0, 0, 0, '')) or die "bind: $!";
for my $hex (@ARGV) { send($s, pack('H*', $hex), 0) or die "send: $!"; select(undef, undef, undef, 0.02) }
`

/**
 * (6) A VLAN-tagged link: `type vlan id 100` subinterfaces on both ends of a veth with ping and a
 * TCP exchange over them, captured on the parent veths. Where the kernel has no 802.1Q support,
 * the same kinds of tagged frames (plus a QinQ frame) are injected into the veth instead.
 */
export async function vlanScenario(lab: Lab): Promise<VlanCaptures> {
  const a = await lab.host('vlan-a')
  const b = await lab.host('vlan-b')
  try {
    await lab.link({ host: a, dev: 'a0' }, { host: b, dev: 'b0' })
    const receiverIfindex = await b.ifindex('b0')
    const sub = `a0.${VLAN.id}`
    const real =
      (
        await a.exec('ip', [
          'link',
          'add',
          'link',
          'a0',
          'name',
          sub,
          'type',
          'vlan',
          'id',
          String(VLAN.id)
        ])
      ).code === 0
    const specs: Array<[Host, CaptureOptions]> = [
      [b, { file: 'vlan-receiver.pcap', ifaces: ['b0'] }],
      [a, { file: 'vlan-sender.pcap', ifaces: ['a0'] }],
      [b, { file: 'vlan-receiver-any.pcap', ifaces: ['any'] }]
    ]
    if (real) {
      await b.ip(
        'link',
        'add',
        'link',
        'b0',
        'name',
        `b0.${VLAN.id}`,
        'type',
        'vlan',
        'id',
        String(VLAN.id)
      )
      await a.ip('addr', 'add', `${VLAN.a}/24`, 'dev', sub)
      await b.ip('addr', 'add', `${VLAN.b}/24`, 'dev', `b0.${VLAN.id}`)
      await a.ip('link', 'set', 'dev', sub, 'up')
      await b.ip('link', 'set', 'dev', `b0.${VLAN.id}`, 'up')
      await tcpServer(b, { host: VLAN.b, port: VLAN.port, expect: 10, reply: 10 })
      const { files } = await capturing(lab, specs, async () => {
        await ping(a, VLAN.b, 2)
        const res = await tcpClient(a, {
          host: VLAN.b,
          port: VLAN.port,
          localPort: VLAN.clientPort,
          send: 10,
          timeoutMs: 5_000
        })
        if (!res.connected) throw new Error(`TCP over the VLAN failed: ${res.error}`)
        await udpSend(a, {
          host: VLAN.b,
          port: VLAN.udpPort,
          localPort: VLAN.udpClientPort,
          payload: 'verdict',
          waitMs: 100
        })
      })
      return {
        mode: 'subinterface',
        receiver: files[0],
        sender: files[1],
        receiverAny: files[2],
        receiverIfindex
      }
    }
    const why = vlanUnavailable()
    if (why) throw new Error(`no 8021q in this kernel, and ${why}`)
    const ifindex = await a.ifindex('a0')
    const src = macBytes(await a.mac('a0'))
    const dst = macBytes(await b.mac('b0'))
    const frames = vlanFrames(src, dst).map((f) => Buffer.from(f).toString('hex'))
    const { files } = await capturing(lab, specs, async () => {
      await a.must('perl', ['-e', INJECT, String(ifindex), ...frames])
    })
    return {
      mode: 'injected',
      receiver: files[0],
      sender: files[1],
      receiverAny: files[2],
      receiverIfindex
    }
  } finally {
    await lab.remove(a, b)
  }
}

function macBytes(mac: string): number[] {
  return mac.split(':').map((h) => parseInt(h, 16))
}

/**
 * The injected frames: an ICMP echo request and a TCP SYN (PCP 5) tagged 100, a UDP datagram
 * over IPv6 tagged 100, and a QinQ (802.1ad 200, 802.1Q 100) echo request.
 */
export function vlanFrames(src: number[], dst: number[]): Uint8Array[] {
  const tag = (tpid: number, tci: number): number[] => [
    tpid >> 8,
    tpid & 0xff,
    tci >> 8,
    tci & 0xff
  ]
  const eth = (tags: number[][], type: number, payload: Uint8Array): Uint8Array =>
    Uint8Array.from([...dst, ...src, ...tags.flat(), type >> 8, type & 0xff, ...payload])
  const a = ipv4Bytes(VLAN.a)
  const b = ipv4Bytes(VLAN.b)
  const echo = (seq: number): Uint8Array => {
    const icmp = [8, 0, 0, 0, 0x76, 0x64, seq >> 8, seq & 0xff, ...Buffer.from('verdict-vlan')]
    put16(icmp, 2, checksum(icmp))
    return ipv4(a, b, 1, icmp, 0x7600 + seq)
  }
  const syn = [
    ...u16(VLAN.clientPort),
    ...u16(VLAN.port),
    ...u32(VLAN.synSeq),
    ...u32(0),
    0x60, // data offset: 6 words, the header and one MSS option
    0x02, // SYN
    ...u16(64240), // window
    ...u16(0), // checksum, filled in below
    ...u16(0), // urgent pointer
    ...[2, 4, ...u16(1460)] // MSS 1460
  ]
  put16(syn, 16, checksum([...a, ...b, 0, 6, ...u16(syn.length), ...syn]))
  const a6 = ipv6Bytes(VLAN.a6)
  const b6 = ipv6Bytes(VLAN.b6)
  const data = [...Buffer.from('verdict')]
  const udp = [
    ...u16(VLAN.udpClientPort),
    ...u16(VLAN.udpPort),
    ...u16(8 + data.length),
    0,
    0,
    ...data
  ]
  put16(udp, 6, checksum([...a6, ...b6, ...u32(udp.length), 0, 0, 0, 17, ...udp]))
  const ip6 = Uint8Array.from([0x60, 0, 0, 0, ...u16(udp.length), 17, 64, ...a6, ...b6, ...udp])
  return [
    eth([tag(0x8100, VLAN.id)], 0x0800, echo(1)),
    eth([tag(0x8100, (VLAN.pcp << 13) | VLAN.id)], 0x0800, ipv4(a, b, 6, syn, 0x7610)),
    eth([tag(0x8100, VLAN.id)], 0x86dd, ip6),
    eth([tag(0x88a8, VLAN.outer), tag(0x8100, VLAN.id)], 0x0800, echo(2))
  ]
}

function ipv4(
  src: number[],
  dst: number[],
  proto: number,
  payload: number[],
  id: number
): Uint8Array {
  const h = [
    0x45,
    0,
    ...u16(20 + payload.length),
    ...u16(id),
    0x40,
    0,
    64,
    proto,
    0,
    0,
    ...src,
    ...dst
  ]
  put16(h, 10, checksum(h))
  return Uint8Array.from([...h, ...payload])
}

function ipv4Bytes(a: string): number[] {
  return a.split('.').map(Number)
}

function ipv6Bytes(a: string): number[] {
  const [head, tail = ''] = a.split('::')
  const hs = head ? head.split(':') : []
  const ts = tail ? tail.split(':') : []
  const groups = [...hs, ...Array<string>(8 - hs.length - ts.length).fill('0'), ...ts]
  return groups.flatMap((g) => u16(parseInt(g, 16)))
}

function u16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff]
}

function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]
}

function put16(b: number[], at: number, v: number): void {
  b[at] = v >> 8
  b[at + 1] = v & 0xff
}

function checksum(bytes: number[]): number {
  let sum = 0
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] << 8) | (bytes[i + 1] ?? 0)
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
  return ~sum & 0xffff
}
