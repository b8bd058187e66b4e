import { ACK, FIN } from '../capture/decode-tcp'
import type { PacketView } from '../capture/packet-view'
import type { DirectionData, PointFlow } from './point-flow'
import type { TrackContext } from './track-context'
import { SegmentRing } from './segment-ring'
import { appended, count, segmentKind, sight, viewIpLength } from './track-point'

/** Unacknowledged segments remembered per direction; older ones are forgotten. */
const MAX_OUTSTANDING = 256
/** SYN times kept per flow (the back-off makes more than a dozen rare). */
const MAX_SYNS = 32
/** A SYN on an idle 5-tuple after this long opens a new conversation even without a close. */
const REUSE_IDLE_US = 120_000_000

/**
 * Feeds one TCP segment to its conversation: handshake, retransmissions, RST, FIN, data progress.
 * `srcId` and `dstId` are the packet's address ids in `ctx.ids`.
 */
export function trackTcp(
  ctx: TrackContext,
  p: PacketView,
  srcId: number,
  dstId: number,
  file: number,
  digits: number
): void {
  const tcp = p
  const srcIp = ctx.ids.texts[srcId]
  const dstIp = ctx.ids.texts[dstId]
  const kind = segmentKind(tcp.flags)
  let flow = ctx.lookup('tcp', srcId, tcp.sport, dstId, tcp.dport, 0)
  if (kind === 'syn') {
    if (!flow || startsNewConversation(flow, srcIp, tcp.sport, tcp.seq, p.timeUs)) {
      flow = ctx.open(
        'tcp',
        { ip: srcIp, port: tcp.sport },
        { ip: dstIp, port: tcp.dport },
        true,
        p,
        digits
      )
      ctx.replace(flow, srcId, tcp.sport, dstId, tcp.dport, 0)
    }
  } else if (!flow) {
    const src = { ip: srcIp, port: tcp.sport }
    const dst = { ip: dstIp, port: tcp.dport }
    if (kind === 'syn-ack') {
      flow = ctx.open('tcp', dst, src, true, p, digits)
    } else {
      // Mid-stream: the side on the higher port is most likely the client.
      const srcIsClient = tcp.sport > tcp.dport || (tcp.sport === tcp.dport && src.ip <= dst.ip)
      flow = srcIsClient
        ? ctx.open('tcp', src, dst, false, p, digits)
        : ctx.open('tcp', dst, src, false, p, digits)
    }
    ctx.replace(flow, srcId, tcp.sport, dstId, tcp.dport, 0)
  }
  const fromA = flow.a.port === tcp.sport && flow.a.ip === srcIp
  count(flow, p, digits)
  if (kind !== 'rst') {
    if (fromA) flow.ttlA ??= p.ttl
    else flow.ttlB ??= p.ttl
  }
  const dir = direction(flow, fromA)
  switch (kind) {
    case 'syn':
      mark(flow, fromA, S)
      if (fromA) {
        flow.isn ??= tcp.seq
        if (p.ipVersion === 4) flow.firstIpId ??= p.ipId
        if (flow.synUs.length < MAX_SYNS) flow.synUs = appended(flow.synUs, p.timeUs)
        if (flow.synUs.length > 1) mark(flow, true, T)
        sight(flow, 'syn', p, file, digits, tcp.seq)
      }
      dir.isn ??= tcp.seq
      if (tcp.mss >= 0) dir.mss = tcp.mss
      break
    case 'syn-ack':
      mark(flow, fromA, H)
      if (!fromA) {
        if (flow.synAckUs.length < MAX_SYNS) flow.synAckUs = appended(flow.synAckUs, p.timeUs)
        flow.synAckSeq ??= tcp.seq
        if (flow.synAckUs.length > 1) mark(flow, false, T)
        sight(flow, 'syn-ack', p, file, digits, tcp.seq)
      }
      dir.isn ??= tcp.seq
      if (tcp.mss >= 0) dir.mss = tcp.mss
      acknowledge(flow, fromA, tcp)
      break
    case 'rst': {
      mark(flow, fromA, R)
      if (!flow.rst) {
        const expected = flow.isn === undefined ? undefined : (flow.isn + 1) >>> 0
        flow.rst = {
          timeUs: p.timeUs,
          stamp: { sec: p.sec, nsec: p.nsec, digits },
          byOpener: fromA,
          ttl: p.ttl,
          ipId: p.ipVersion === 4 ? p.ipId : undefined,
          win: tcp.win,
          ack: tcp.ack,
          segmentLen: (fromA ? flow.dataB : flow.dataA)?.lastLen,
          answeredSyn:
            !fromA &&
            flow.establishedUs === undefined &&
            flow.synAckUs.length === 0 &&
            (tcp.flags & ACK) !== 0 &&
            (tcp.ack === expected ||
              // The answer to a SYN this point never saw (a host's own REJECT in its output chain,
              // captured on loopback): the first packet, sequence 0, acknowledging something.
              (expected === undefined && flow.packets === 1 && tcp.seq === 0 && tcp.ack !== 0))
        }
      }
      sight(flow, 'rst', p, file, digits, tcp.seq)
      break
    }
    default: {
      if (
        fromA &&
        flow.establishedUs === undefined &&
        flow.synAckSeq !== undefined &&
        tcp.flags & ACK &&
        tcp.ack === (flow.synAckSeq + 1) >>> 0
      ) {
        flow.establishedUs = p.timeUs
      }
      if (tcp.flags & ACK && !(tcp.payloadLen > 0)) mark(flow, fromA, A)
      if (tcp.payloadLen > 0) {
        mark(flow, fromA, D)
        sendData(flow, fromA, dir, p, file, digits)
      }
      if (tcp.flags & FIN) {
        mark(flow, fromA, F)
        if (fromA) flow.finA = true
        else flow.finB = true
        sight(flow, 'fin', p, file, digits, tcp.seq)
      }
      acknowledge(flow, fromA, tcp)
    }
  }
}

/** A SYN with a new ISN on a closed, failed or long-idle 5-tuple is a new conversation (port reuse). */
function startsNewConversation(
  flow: PointFlow,
  srcIp: string,
  srcPort: number,
  seq: number,
  timeUs: number
): boolean {
  if (flow.isn === undefined) return flow.packets > 0
  if (seq === flow.isn && flow.a.port === srcPort && flow.a.ip === srcIp) return false
  const closed = flow.rst !== undefined || (flow.finA === true && flow.finB === true)
  return closed || flow.establishedUs === undefined || timeUs - flow.lastUs > REUSE_IDLE_US
}

function direction(flow: PointFlow, fromA: boolean): DirectionData {
  return fromA ? (flow.dataA ??= newDirection()) : (flow.dataB ??= newDirection())
}

function newDirection(): DirectionData {
  return {
    nextSeq: 0,
    acked: 0,
    retransmits: 0,
    maxAckedPayload: 0,
    outstanding: new SegmentRing(MAX_OUTSTANDING),
    lastLen: undefined,
    mss: undefined,
    isn: undefined
  }
}

function sendData(
  flow: PointFlow,
  fromA: boolean,
  dir: DirectionData,
  p: PacketView,
  file: number,
  digits: number
): void {
  const tcp = p
  // A side first seen mid-stream: its sequence space starts just before this segment.
  dir.isn ??= (tcp.seq - 1) >>> 0
  const rel = (tcp.seq - dir.isn) >>> 0
  const end = rel + tcp.payloadLen
  const df = p.ipVersion === 4 ? p.df : true
  dir.lastLen = viewIpLength(p)
  if (end <= dir.nextSeq) {
    dir.retransmits++
    mark(flow, fromA, T)
    const out = dir.outstanding
    const i = out.indexOfSeq(rel)
    if (i >= 0) {
      // Resent smaller (the sender learnt a smaller path MTU): what gets acknowledged is this send.
      const len = out.lenAt(i)
      out.resent(i, tcp.payloadLen < len ? tcp.payloadLen : len)
    }
    if (dir.retransmits <= 8) sight(flow, 'data-retransmit', p, file, digits, tcp.seq)
    return
  }
  dir.nextSeq = end
  dir.outstanding.push(rel, tcp.payloadLen, df, 1, viewIpLength(p) - tcp.payloadLen)
}

/** An ACK from one side moves the other side's acknowledged point and retires its segments. */
function acknowledge(flow: PointFlow, fromA: boolean, tcp: PacketView): void {
  if (!(tcp.flags & ACK)) return
  const peer = fromA ? flow.dataB : flow.dataA
  if (!peer || peer.isn === undefined) return
  const rel = (tcp.ack - peer.isn) >>> 0
  // Ignore acknowledgements beyond what was sent (+1 for a FIN): they are not about this data.
  if (rel <= peer.acked || rel > peer.nextSeq + 1) return
  peer.acked = rel
  const out = peer.outstanding
  while (out.length > 0) {
    const len = out.lenAt(0)
    if (out.seqAt(0) + len > rel) break
    out.shift()
    if (len > peer.maxAckedPayload) peer.maxAckedPayload = len
  }
}

/**
 * Adds a Zeek-style history letter once per direction: upper case from the opener. Which
 * letters the history holds is kept as bits, so a packet costs one test, not a string search.
 */
function mark(flow: PointFlow, fromA: boolean, letter: HistoryLetter): void {
  const bit = fromA ? letter : letter << 7
  if (flow.marks & bit) return
  flow.marks |= bit
  flow.history += LETTERS[31 - Math.clz32(bit)]
}

/** History letters as bits: the opener's in bits 0–6, the responder's in bits 7–13. */
const S = 1
const H = 2
const R = 4
const A = 8
const D = 16
const F = 32
const T = 64
type HistoryLetter = typeof S | typeof H | typeof R | typeof A | typeof D | typeof F | typeof T
/** The letter of each bit. */
const LETTERS = 'SHRADFTshradft'
