import type { PacketRecord } from '../../src-main/engine/capture/packet-record'
import { run, verdict } from './run'

/** tshark fields compared with `verdict packets --format jsonl`, in this order. */
const FIELDS = [
  'frame.number',
  'frame.time_epoch',
  'frame.len',
  'frame.cap_len',
  'ip.src',
  'ip.dst',
  'ip.id',
  'ip.ttl',
  'ip.flags.df',
  'ipv6.src',
  'ipv6.dst',
  'ipv6.hlim',
  'tcp.srcport',
  'tcp.dstport',
  'tcp.flags',
  'tcp.seq',
  'tcp.ack',
  'tcp.window_size_value',
  'udp.srcport',
  'udp.dstport',
  'icmp.type',
  'icmp.code',
  'icmp.mtu',
  'icmpv6.type',
  'icmpv6.code',
  'icmpv6.mtu',
  'ieee8021ad.id',
  'vlan.id',
  'nflog.prefix',
  'frame.protocols'
] as const

type Field = (typeof FIELDS)[number]
/** One tshark row: every occurrence of each field (outer first, then quoted or tunnelled). */
export type TsharkRow = Record<Field, string[]>

/** One field on which Verdict and tshark disagree. */
export interface Disagreement {
  frame: number
  field: string
  verdict: unknown
  tshark: unknown
}

/** Returns tshark's dissection of `file`, one row per frame. */
export async function tsharkRows(file: string): Promise<TsharkRow[]> {
  // Absolute sequence numbers: tcp.seq_raw is not filled in for headers quoted inside ICMP.
  const args = [
    '-n',
    '-o',
    'tcp.relative_sequence_numbers:FALSE',
    '-r',
    file,
    '-T',
    'fields',
    '-E',
    'separator=\t',
    '-E',
    'occurrence=a',
    '-E',
    'aggregator=|'
  ]
  for (const f of FIELDS) args.push('-e', f)
  const ran = await run('tshark', args)
  const rows: TsharkRow[] = []
  for (const line of ran.stdout.split('\n')) {
    if (line === '') continue
    const cols = line.split('\t')
    const row = {} as TsharkRow
    FIELDS.forEach((f, i) => {
      const v = cols[i] ?? ''
      row[f] = v === '' ? [] : v.split('|')
    })
    // tshark 4 shows pcapng custom blocks as frames without a time; Verdict counts them as skipped blocks.
    if (row['frame.time_epoch'].length === 0 && row['frame.protocols'].join('') === 'data') continue
    rows.push(row)
  }
  return rows
}

/** Returns Verdict's records of `file` and what it printed on stderr. */
export async function verdictRecords(
  file: string
): Promise<{ records: PacketRecord[]; stderr: string; code: number }> {
  const ran = await verdict(['packets', '--format', 'jsonl', file])
  const records = ran.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as PacketRecord)
  return { records, stderr: ran.stderr, code: ran.code }
}

/** Compares Verdict with tshark frame by frame, field by field; returns every disagreement. */
export async function compareWithTshark(
  file: string
): Promise<{ frames: number; disagreements: Disagreement[] }> {
  const [rows, ours] = await Promise.all([tsharkRows(file), verdictRecords(file)])
  const out: Disagreement[] = []
  const diff = (frame: number, field: string, mine: unknown, theirs: unknown): void => {
    if (mine !== theirs) out.push({ frame, field, verdict: mine, tshark: theirs })
  }
  diff(0, 'frame count', ours.records.length, rows.length)
  const n = Math.min(rows.length, ours.records.length)
  for (let i = 0; i < n; i++) compareOne(ours.records[i], rows[i], diff)
  return { frames: rows.length, disagreements: out }
}

type Diff = (frame: number, field: string, mine: unknown, theirs: unknown) => void

function compareOne(r: PacketRecord, t: TsharkRow, diff: Diff): void {
  const f = r.n
  // A simple packet block has no timestamp: tshark leaves the time empty, Verdict says the epoch.
  const theirTime = normEpoch(t['frame.time_epoch'][0]) ?? '0.000000000'
  diff(f, 'time', epochOf(r.ts), theirTime)
  diff(f, 'len', r.len, num(t['frame.len'][0]))
  diff(f, 'caplen', r.caplen, num(t['frame.cap_len'][0]))
  const v6 = r.ipVersion === 6
  const srcs = v6 ? t['ipv6.src'] : t['ip.src']
  const dsts = v6 ? t['ipv6.dst'] : t['ip.dst']
  // tshark's first occurrence is the outer header; quoted or tunnelled headers follow.
  diff(f, 'src', r.src, srcs[0] ?? (r.ipVersion ? undefined : (t['ip.src'][0] ?? t['ipv6.src'][0])))
  diff(f, 'dst', r.dst, dsts[0])
  // tshark files an 802.1ad (outer, TPID 0x88a8) tag under ieee8021ad.id and 802.1Q tags under vlan.id.
  diff(f, 'vlan', (r.vlan ?? []).join(','), [...t['ieee8021ad.id'], ...t['vlan.id']].join(','))
  if (r.src === undefined) return
  diff(f, 'ttl', r.ttl, num(v6 ? t['ipv6.hlim'][0] : t['ip.ttl'][0]))
  if (!v6) {
    diff(f, 'ipId', r.ipId, num(t['ip.id'][0]))
    diff(f, 'df', r.df, bool(t['ip.flags.df'][0]))
  }
  if (r.tcpFlags !== undefined) {
    diff(f, 'sport', r.sport, num(t['tcp.srcport'][0]))
    diff(f, 'dport', r.dport, num(t['tcp.dstport'][0]))
    diff(f, 'tcpFlags', flagBits(r.tcpFlags), (num(t['tcp.flags'][0]) ?? 0) & 0x1ff)
    diff(f, 'seq', r.seq, num(t['tcp.seq'][0]))
    diff(f, 'ack', r.ack, num(t['tcp.ack'][0]))
    diff(f, 'win', r.win, num(t['tcp.window_size_value'][0]))
  } else if (r.proto === 'udp' && r.sport !== undefined) {
    diff(f, 'sport', r.sport, num(t['udp.srcport'][0]))
    diff(f, 'dport', r.dport, num(t['udp.dstport'][0]))
  } else if (r.icmpType !== undefined) {
    const p = r.proto === 'icmpv6' ? 'icmpv6' : 'icmp'
    diff(f, 'icmpType', r.icmpType, num(t[`${p}.type`][0]))
    diff(f, 'icmpCode', r.icmpCode, num(t[`${p}.code`][0]))
    diff(f, 'mtu', r.mtu, num(t[`${p}.mtu`][0]))
    if (r.inner) {
      const q = r.inner
      const qv6 = q.src.includes(':')
      // The quoted header is the second IP occurrence when the outer header is the same family.
      const idx = qv6 === v6 ? 1 : 0
      diff(f, 'inner.src', q.src, (qv6 ? t['ipv6.src'] : t['ip.src'])[idx])
      diff(f, 'inner.dst', q.dst, (qv6 ? t['ipv6.dst'] : t['ip.dst'])[idx])
      if (q.proto === 'tcp') {
        diff(f, 'inner.sport', q.sport, num(t['tcp.srcport'][0]))
        diff(f, 'inner.dport', q.dport, num(t['tcp.dstport'][0]))
        if (q.seq !== undefined) diff(f, 'inner.seq', q.seq, num(t['tcp.seq'][0]))
      } else if (q.proto === 'udp') {
        diff(f, 'inner.sport', q.sport, num(t['udp.srcport'][0]))
        diff(f, 'inner.dport', q.dport, num(t['udp.dstport'][0]))
      }
    }
  }
  // tshark prints nothing for an empty prefix.
  if (r.nflogPrefix || t['nflog.prefix'].length > 0)
    diff(f, 'nflogPrefix', r.nflogPrefix, t['nflog.prefix'][0])
}

function num(v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  return v.startsWith('0x') ? parseInt(v, 16) : Number(v)
}

function bool(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined
  return v === '1' || v === 'True' || v === 'true'
}

/** tcpdump letters back to flag bits. */
function flagBits(letters: string): number {
  const bits: Record<string, number> = {
    F: 1,
    S: 2,
    R: 4,
    P: 8,
    '.': 16,
    U: 32,
    E: 64,
    W: 128,
    e: 256
  }
  let n = 0
  if (letters !== 'none') for (const c of letters) n |= bits[c] ?? 0
  return n
}

/** ISO-8601 with up to 9 fractional digits → "seconds.nanoseconds". */
function epochOf(iso: string): string {
  const m = /^(.*?)(?:\.(\d+))?Z$/.exec(iso)
  if (!m) return iso
  const sec = Math.floor(Date.parse(m[1] + 'Z') / 1000)
  return `${sec}.${(m[2] ?? '').padEnd(9, '0')}`
}

function normEpoch(v: string | undefined): string | undefined {
  if (v === undefined) return undefined
  const [s, frac = ''] = v.split('.')
  return `${s}.${frac.padEnd(9, '0').slice(0, 9)}`
}
