/** What the kernel-lab tests share: decoding a capture once, the tshark oracle, packet selectors. */
import { existsSync } from 'node:fs'
import type { PacketRecord } from '../../src-main/engine/capture/packet-record'
import { CLI } from '../support/run'
import { compareWithTshark, verdictRecords, type Disagreement } from '../support/tshark-oracle'
import { labUnavailable } from './lab-host'

/** Why the lab is skipped here, printed once so a skip is never silent. */
export function labSkipReason(suite: string): string | undefined {
  const reason = labUnavailable()
  if (reason) console.warn(`kernel lab (${suite}) skipped: ${reason}`)
  return reason
}

/** Throws unless the command line the oracle runs has been built. */
export function requireCli(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build:cli\` first`)
}

/** Verdict's reading of one capture. */
export interface Decoded {
  file: string
  records: PacketRecord[]
  stderr: string
  code: number
}

/** Runs `verdict packets --format jsonl` on each file (in parallel). */
export async function decodeAll<K extends string>(
  files: Record<K, string>
): Promise<Record<K, Decoded>> {
  const keys = Object.keys(files) as K[]
  const decoded = await Promise.all(
    keys.map(async (k) => ({ file: files[k], ...(await verdictRecords(files[k])) }))
  )
  return Object.fromEntries(keys.map((k, i) => [k, decoded[i]])) as Record<K, Decoded>
}

/** Verdict against tshark, field by field. */
export function oracle(file: string): Promise<{ frames: number; disagreements: Disagreement[] }> {
  return compareWithTshark(file)
}

/** TCP segments of one direction of one conversation. */
export function tcp(
  records: PacketRecord[],
  src: string,
  sport: number,
  dst: string,
  dport: number
): PacketRecord[] {
  return records.filter(
    (r) =>
      r.proto === 'tcp' && r.src === src && r.sport === sport && r.dst === dst && r.dport === dport
  )
}

/** UDP datagrams of one direction of one conversation. */
export function udp(
  records: PacketRecord[],
  src: string,
  sport: number,
  dst: string,
  dport: number
): PacketRecord[] {
  return records.filter(
    (r) =>
      r.proto === 'udp' && r.src === src && r.sport === sport && r.dst === dst && r.dport === dport
  )
}

/** ICMP or ICMPv6 errors quoting a packet sent from `sport` to `dport`. */
export function icmpQuoting(records: PacketRecord[], sport: number, dport: number): PacketRecord[] {
  return records.filter(
    (r) => r.inner !== undefined && r.inner.sport === sport && r.inner.dport === dport
  )
}

/** `n + k` modulo 2^32, as TCP sequence numbers wrap. */
export function seqPlus(n: number | undefined, k: number): number {
  if (n === undefined) throw new Error('no sequence number')
  return (n + k) % 2 ** 32
}

/** Sum of TCP payload bytes. */
export function payload(records: PacketRecord[]): number {
  return records.reduce((sum, r) => sum + (r.payloadLen ?? 0), 0)
}

/** A record's timestamp in seconds (fractions kept to the microsecond). */
export function seconds(r: PacketRecord): number {
  const m = /^(.*?)(?:\.(\d+))?Z$/.exec(r.ts)
  if (!m) throw new Error(`bad timestamp ${r.ts}`)
  return Date.parse(m[1] + 'Z') / 1000 + Number(`0.${m[2] ?? '0'}`)
}
