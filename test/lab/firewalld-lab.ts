/**
 * A real firewalld inside a lab host: its own D-Bus system bus and its own /etc/firewalld.
 *
 * Both daemons run in the host's network namespace and in one private mount namespace
 * (`unshare --mount --propagation private`) where /etc/firewalld and /run (so /var/run and
 * /run/dbus) are bind mounts of folders in the lab's directory. The machine's real
 * /etc/firewalld, /run and system bus are never seen or touched: the bus listens on a socket in
 * the private /run/dbus, reached from outside through its path in the lab's directory. Both
 * processes belong to the host, so the lab stops them (and the mount namespace dies with them).
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { hasProgram, run, type Ran } from '../support/run'
import { labUnavailable, sleep, type Host, type Proc } from './lab-host'
import { withNetnsLogging } from './netns-logging'

/** Returns why firewalld cannot run in the lab here, or undefined. */
export function firewalldUnavailable(): string | undefined {
  const lab = labUnavailable()
  if (lab) return lab
  for (const tool of ['firewalld', 'firewall-cmd', 'dbus-daemon', 'unshare', 'nsenter', 'python3'])
    if (!hasProgram(tool)) return `the firewalld lab needs ${tool}, which is not on the PATH`
  return undefined
}

/**
 * firewalld.conf of the lab's firewalld: nftables, every denied packet logged. A configuration
 * with a firewalld.conf of its own uses that instead.
 */
export const LAB_FIREWALLD_CONF = 'DefaultZone=public\nFirewallBackend=nftables\nLogDenied=all\n'

const BUS_CONF = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=/run/dbus/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="root"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`

/** One file of a firewalld configuration, its path relative to /etc/firewalld. */
export interface EtcFile {
  path: string
  text: string
}

/** firewalld and its bus running in a host; `load` replaces its configuration. */
export class LabFirewalld {
  private constructor(
    readonly host: Host,
    /** The private /etc/firewalld, as seen from outside. */
    readonly etc: string,
    /** The bus address firewall-cmd uses from outside the mount namespace. */
    readonly bus: string,
    private readonly procs: Proc[]
  ) {}

  /**
   * Starts a bus and firewalld in `host`; throws, with what they printed, when either fails.
   * The configuration starts as `files` (default: firewalld's own zones only).
   */
  static async start(host: Host, files: EtcFile[] = []): Promise<LabFirewalld> {
    const root = host.lab.file(`firewalld-${host.name}`)
    const etc = join(root, 'etc')
    const runDir = join(root, 'run')
    mkdirSync(join(runDir, 'dbus'), { recursive: true })
    mkdirSync(etc, { recursive: true })
    writeFileSync(join(root, 'bus.conf'), BUS_CONF)
    writeEtc(etc, files)
    const binds = `mount --bind '${etc}' /etc/firewalld && mount --bind '${runDir}' /run`
    const bus = host.spawn('unshare', [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      `${binds} && exec dbus-daemon --config-file='${join(root, 'bus.conf')}' --nofork --nopidfile --print-address`
    ])
    const procs = [bus]
    const fw = new LabFirewalld(
      host,
      etc,
      `unix:path=${join(runDir, 'dbus/system_bus_socket')}`,
      procs
    )
    try {
      await bus.waitFor(/unix:path=/, 'dbus-daemon')
      const pid = bus.child.pid
      // `ip netns exec`, unshare and sh each exec the next: the pid is dbus-daemon's.
      const firewalld = host.spawn('nsenter', [
        `--mount=/proc/${pid}/ns/mnt`,
        'env',
        'DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/dbus/system_bus_socket',
        'firewalld',
        '--nofork',
        '--nopid',
        '--log-target',
        'console'
      ])
      procs.push(firewalld)
      const deadline = Date.now() + 60_000
      for (;;) {
        const state = await fw.cmd('--state')
        if (state.stdout.trim() === 'running') break
        if (!firewalld.running || Date.now() > deadline)
          throw new Error(
            `firewalld did not start (${firewalld.running ? 'timed out' : `exit ${firewalld.exitCode}`}): ${firewalld.stderr.trim() || state.stderr.trim()}`
          )
        await sleep(300)
      }
    } catch (e) {
      await fw.stop()
      throw e
    }
    return fw
  }

  /** Runs firewall-cmd against this firewalld's bus. */
  cmd(...args: string[]): Promise<Ran> {
    return run('env', [`DBUS_SYSTEM_BUS_ADDRESS=${this.bus}`, 'firewall-cmd', ...args], {
      timeoutMs: 60_000
    })
  }

  /** Replaces the configuration in the private /etc/firewalld and reloads it. */
  async load(files: EtcFile[]): Promise<void> {
    writeEtc(this.etc, files)
    const r = await this.cmd('--reload')
    if (r.code !== 0) throw new Error(`firewall-cmd --reload failed (${r.code}): ${r.stderr}`)
    const state = await this.cmd('--state')
    if (state.stdout.trim() !== 'running')
      throw new Error(`firewalld is not running after the reload: ${state.stderr.trim()}`)
  }

  /** What firewalld printed so far (warnings and errors of a reload land here). */
  get log(): string {
    return this.procs.map((p) => p.stdout + p.stderr).join('')
  }

  /** The host's nft ruleset as `nft list ruleset` prints it. */
  ruleset(): Promise<string> {
    return this.host.must('nft', ['list', 'ruleset'])
  }

  /** Stops firewalld, then its bus. */
  async stop(): Promise<void> {
    for (const p of [...this.procs].reverse()) await p.stop('SIGTERM')
  }
}

/**
 * Holds net.netfilter.nf_log_all_netns at 1, so firewalld's `log` rules in a lab namespace reach
 * the kernel log, until the returned function is called; that gives the sysctl back (the last
 * holder restores the value found before the first, see netns-logging.ts).
 */
export async function holdNetnsLogging(): Promise<() => Promise<void>> {
  let release!: () => void
  const gate = new Promise<void>((r) => (release = r))
  let entered!: () => void
  const inside = new Promise<void>((r) => (entered = r))
  const held = withNetnsLogging(async () => {
    entered()
    await gate
  })
  // A failure to take the sysctl rejects `held` before `inside` ever resolves.
  await Promise.race([inside, held])
  return async () => {
    release()
    await held
  }
}

/**
 * The kernel log lines written between two marks: `mark()` writes a line of its own to
 * /dev/kmsg, and `linesSince(mark)` returns what `dmesg` shows after it, up to the next mark.
 */
export class KernelLog {
  /** Unique to this run, so marks of runs in other processes are never taken for ours. */
  private readonly tag = `verdict-firewalld-oracle-${randomBytes(4).toString('hex')}`
  private count = 0

  /** Writes a mark and returns it. */
  mark(what: string): string {
    const mark = `${this.tag} ${++this.count} ${what}`
    writeFileSync('/dev/kmsg', `${mark}\n`)
    return mark
  }

  /** The dmesg lines after `mark` and before this run's next mark (or the end). */
  async linesSince(mark: string): Promise<string[]> {
    const ran = await run('dmesg', [])
    if (ran.code !== 0) throw new Error(`dmesg failed (${ran.code}): ${ran.stderr.trim()}`)
    const lines = ran.stdout.split('\n')
    const from = lines.findIndex((l) => l.endsWith(mark))
    if (from < 0) throw new Error(`the kernel log no longer holds the mark '${mark}'`)
    const rest = lines.slice(from + 1)
    const to = rest.findIndex((l) => l.includes(this.tag))
    return (to < 0 ? rest : rest.slice(0, to)).filter((l) => l.trim() !== '')
  }
}

/** Empties the private /etc/firewalld and writes the lab's firewalld.conf and `files` into it. */
function writeEtc(etc: string, files: EtcFile[]): void {
  for (const name of readdirSync(etc)) rmSync(join(etc, name), { recursive: true, force: true })
  writeFileSync(join(etc, 'firewalld.conf'), LAB_FIREWALLD_CONF)
  for (const f of files) {
    const path = join(etc, f.path)
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, f.text)
  }
}
