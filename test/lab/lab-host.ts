/**
 * A real-kernel lab: test hosts in network namespaces joined by veth pairs, and the processes
 * started inside them.
 *
 * Every namespace, interface and process belongs to one run (names start `vdt<pid><random>`), all
 * traffic stays between those namespaces, and only per-namespace sysctls are changed. Interfaces
 * are created directly inside their namespaces, so nothing ever appears in the root namespace.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
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
  for (const tool of [
    'ip',
    'tcpdump',
    'tshark',
    'dumpcap',
    'nft',
    'iptables',
    'ping',
    'conntrack'
  ]) {
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

  /** Makes a bridge of these interfaces (its ports) and brings it up. */
  async bridge(name: string, ports: string[]): Promise<void> {
    await this.ip('link', 'add', name, 'type', 'bridge')
    for (const port of ports) await this.ip('link', 'set', port, 'master', name)
    await this.ip('link', 'set', name, 'up')
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

  /** The host made with this short name; throws when there is none. */
  hostByName(name: string): Host {
    for (const h of this.hosts) if (h.name === name) return h
    throw new Error(`no host ${name} in this lab`)
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
   * A client and a server on one link, as most single-host cases need: hosts `NAME-c` and
   * `NAME-s`, joined by c0 and s0 with these IPv4 addresses on a /24.
   */
  async clientServer(name: string, client: string, server: string): Promise<[Host, Host]> {
    const c = await this.host(`${name}-c`)
    const s = await this.host(`${name}-s`)
    await this.link(
      { host: c, dev: 'c0', v4: `${client}/24` },
      { host: s, dev: 's0', v4: `${server}/24` }
    )
    return [c, s]
  }

  /**
   * A client and a server on two networks joined by a router, as routed cases need: hosts
   * `NAME-c`, `NAME-r` (forwarding) and `NAME-s`, linked c0–r0 and r1–s0 on /24s, each end's
   * default route through the router.
   */
  async routed(
    name: string,
    net: { client: string; r0: string; r1: string; server: string }
  ): Promise<[Host, Host, Host]> {
    const c = await this.host(`${name}-c`)
    const r = await this.host(`${name}-r`, { router: true })
    const s = await this.host(`${name}-s`)
    await this.link(
      { host: c, dev: 'c0', v4: `${net.client}/24` },
      { host: r, dev: 'r0', v4: `${net.r0}/24` }
    )
    await this.link(
      { host: r, dev: 'r1', v4: `${net.r1}/24` },
      { host: s, dev: 's0', v4: `${net.server}/24` }
    )
    await c.ip('route', 'add', 'default', 'via', net.r0)
    await s.ip('route', 'add', 'default', 'via', net.r1)
    return [c, r, s]
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

/**
 * Writes each host's snapshots into its folder of an incident (`DIR/NAME/FILE`): the output of
 * each command, run in the host's namespace, as an engineer collects it after the fact.
 */
export async function saveSnapshots(
  dir: string,
  hosts: Array<[Host, string]>,
  commands: Record<string, string[]>
): Promise<void> {
  for (const [host, name] of hosts)
    for (const [file, [cmd, ...args]] of Object.entries(commands))
      writeFileSync(join(dir, name, file), await host.must(cmd, args))
}
