/** Captures in the lab's namespaces: tcpdump and dumpcap, started when ready, stopped cleanly. */
import { readFileSync } from 'node:fs'
import { sleep, type Host, type Lab, type Proc } from './lab-host'

/** Starts a capture inside `host` and resolves once it is really listening. */
export async function startCapture(lab: Lab, host: Host, opts: CaptureOptions): Promise<Capture> {
  const file = lab.file(opts.file)
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

/** Starts every capture, runs `traffic`, then stops every capture; returns their files in order. */
export async function capturing<T>(
  lab: Lab,
  specs: Array<[Host, CaptureOptions]>,
  traffic: () => Promise<T>
): Promise<{ files: string[]; result: T }> {
  const captures = await Promise.all(specs.map(([h, o]) => startCapture(lab, h, o)))
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
