/**
 * IP fragment reassembly with bounded memory: fragments are kept per datagram
 * until the datagram is whole, then handed back as one buffer. Old or
 * excess datagrams are dropped, never the reader.
 */

/** Datagrams held at once; the oldest is dropped beyond this. */
const MAX_PENDING = 1024
/** RFC 791 / RFC 8200: a datagram cannot exceed 65535 bytes of payload (jumbograms aside). */
const MAX_DATAGRAM = 65535
/** Linux's ipfrag_time default: 30 s. */
const TIMEOUT_US = 30_000_000

/** A completed datagram: the upper-layer bytes and the frames that carried them. */
export interface Reassembled {
  bytes: Uint8Array
  frames: number[]
}

interface Pending {
  firstUs: number
  frames: number[]
  parts: { offset: number; bytes: Uint8Array }[]
  /** Total length once the last fragment (MF clear) is seen. */
  total: number
}

/** Returns a reassembler; `add` answers the whole datagram when this fragment completes it. */
export function createReassembler(): {
  add(
    key: string,
    frame: number,
    timeUs: number,
    offset: number,
    more: boolean,
    bytes: Uint8Array
  ): Reassembled | undefined
  pending(): number
} {
  const table = new Map<string, Pending>()
  return {
    add(key, frame, timeUs, offset, more, bytes) {
      let p = table.get(key)
      if (p && timeUs - p.firstUs > TIMEOUT_US) {
        table.delete(key)
        p = undefined
      }
      if (!p) {
        if (table.size >= MAX_PENDING) table.delete(table.keys().next().value as string)
        p = { firstUs: timeUs, frames: [], parts: [], total: -1 }
        table.set(key, p)
      }
      if (offset + bytes.length > MAX_DATAGRAM) {
        table.delete(key)
        return undefined
      }
      p.frames.push(frame)
      p.parts.push({ offset, bytes: bytes.slice() })
      if (!more) p.total = offset + bytes.length
      if (p.total < 0) return undefined
      const whole = assemble(p)
      if (whole) table.delete(key)
      return whole
    },
    pending: () => table.size
  }
}

function assemble(p: Pending): Reassembled | undefined {
  const parts = [...p.parts].sort((a, b) => a.offset - b.offset)
  let covered = 0
  for (const part of parts) {
    if (part.offset > covered) return undefined
    covered = Math.max(covered, part.offset + part.bytes.length)
  }
  if (covered < p.total) return undefined
  const out = new Uint8Array(p.total)
  for (const part of parts) {
    const room = p.total - part.offset
    if (room <= 0) continue
    out.set(part.bytes.length > room ? part.bytes.subarray(0, room) : part.bytes, part.offset)
  }
  return { bytes: out, frames: [...p.frames].sort((a, b) => a - b) }
}
