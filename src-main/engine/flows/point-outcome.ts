import type { Outcome } from '../../shared/incident'
import type { DirectionData, PointFlow } from './point-flow'
import { discoveryHeard } from './track-point'
import type { Segment } from './segment-ring'

/** A segment sent this many times (two retransmissions) and never acknowledged is stuck. */
const STUCK_SENDS = 3

/** Returns the outcome of a conversation as one capture point saw it. */
export function pointOutcome(f: PointFlow): Outcome {
  if (f.proto !== 'tcp') {
    // A discovery answered on the wire whose asker asked on never heard the answer.
    if (f.neighbour) return discoveryHeard(f) ? 'answered' : 'unanswered'
    if (f.fromB > 0) return 'answered'
    if (isUnreachable(f)) return 'icmp-unreachable'
    return 'unanswered'
  }
  if (isEstablished(f)) {
    if (stuckSegment(f)) return 'stalled'
    if (f.rst) return 'reset-midstream'
    return 'established'
  }
  if (f.synUs.length === 0 && f.synAckUs.length === 0) {
    if (f.icmp && isUnreachable(f)) return 'icmp-unreachable'
    // A reset answering a SYN the capture did not hold, and nothing else: refused.
    if (f.rst?.answeredSyn && !f.rst.byOpener && f.packets === 1) return 'refused-rst'
    return f.rst ? 'reset-midstream' : 'incomplete'
  }
  if (f.rst && !f.rst.byOpener && f.synAckUs.length === 0) return 'refused-rst'
  // An error about the SYN-ACK: the answer was made and never got through (an error the
  // responder's own stack raised, or a router's on the way back).
  if (f.icmp?.quoted === 'reply' && f.synUs.length > 0) return 'one-way'
  // The opener gave up with a RST before any answer: a timeout only if it had retried.
  if (f.rst && f.rst.byOpener && f.synAckUs.length === 0 && !f.icmp)
    return f.synUs.length > 1 ? 'syn-timeout' : 'incomplete'
  if (f.synAckUs.length > 0) {
    // The answer left the server; the handshake never completed. Retransmissions on either
    // side show it was not just the capture ending early.
    const synAfterAnswer = f.synUs.some((t) => t > f.synAckUs[0])
    return f.synAckUs.length > 1 || synAfterAnswer ? 'one-way' : 'incomplete'
  }
  if (isUnreachable(f)) return 'icmp-unreachable'
  return f.synUs.length > 0 ? 'syn-timeout' : 'incomplete'
}

/** Returns whether the handshake completed (or both sides exchanged data after a SYN-ACK). */
export function isEstablished(f: PointFlow): boolean {
  if (f.establishedUs !== undefined) return true
  // Seen mid-stream: data acknowledged in both directions means a live connection.
  return (
    f.synUs.length === 0 &&
    f.synAckUs.length === 0 &&
    (f.dataA?.acked ?? 0) > 0 &&
    (f.dataB?.acked ?? 0) > 0
  )
}

/** Returns the never-acknowledged segment sent most often, when it was retransmitted enough to be stuck. */
export function stuckSegment(f: PointFlow): (Segment & { fromOpener: boolean }) | undefined {
  const fromA = f.dataA && stuckIn(f.dataA)
  const fromB = f.dataB && stuckIn(f.dataB)
  const best =
    fromB !== undefined && (fromA === undefined || fromB.sends > fromA.sends) ? fromB : fromA
  return best && { ...best, fromOpener: best === fromA }
}

/** The never-acknowledged segment of one direction sent most often, when sent STUCK_SENDS times or more. */
function stuckIn(dir: DirectionData): Segment | undefined {
  let at = -1
  const out = dir.outstanding
  for (let i = 0; i < out.length; i++) {
    const sends = out.sendsAt(i)
    if (sends >= STUCK_SENDS && out.seqAt(i) >= dir.acked && (at < 0 || sends > out.sendsAt(at)))
      at = i
  }
  return at < 0 ? undefined : out.get(at)
}

/** Destination unreachable (ICMP type 3 except frag-needed, ICMPv6 type 1) or time exceeded. */
export function isUnreachable(f: PointFlow): boolean {
  const i = f.icmp
  // An error about the answer does not answer the opener.
  if (!i || i.quoted === 'reply') return false
  if (f.proto === 'icmpv6' || i.from.includes(':')) return i.type === 1 || i.type === 3
  return (i.type === 3 && i.code !== 4) || i.type === 11
}
