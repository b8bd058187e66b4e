/** One segment a direction sent and the peer has not acknowledged yet. */
export interface Segment {
  seq: number
  /** Payload bytes. */
  len: number
  df: boolean
  sends: number
  /** Header bytes in front of the payload at the IP layer (IP and TCP headers with options). */
  hdr: number
}

/** Numbers per segment in the ring: seq, len, sends, and hdr * 2 + df. */
const FIELDS = 4
const FIRST_CAPACITY = 4

/**
 * The unacknowledged segments of one direction, oldest first, bounded: a ring
 * of numbers in one array, so a data segment costs no object of its own (one
 * per segment made the collector the tracker's largest cost).
 */
export class SegmentRing {
  /** FIELDS numbers per slot; slot i of the ring is at ((head + i) % capacity) * FIELDS. */
  private d: number[] = []
  private head = 0
  private capacity = 0
  /** Segments held. */
  length = 0

  constructor(private readonly max: number) {}

  /** Returns the array index of the i-th oldest segment. */
  private at(i: number): number {
    let slot = this.head + i
    if (slot >= this.capacity) slot -= this.capacity
    return slot * FIELDS
  }

  /** Appends the newest segment, forgetting the oldest when the ring holds `max` already. */
  push(seq: number, len: number, df: boolean, sends: number, hdr: number): void {
    if (this.length === this.capacity) {
      if (this.capacity < this.max) this.grow()
      else this.shift()
    }
    const k = this.at(this.length++)
    const d = this.d
    d[k] = seq
    d[k + 1] = len
    d[k + 2] = sends
    d[k + 3] = hdr * 2 + (df ? 1 : 0)
  }

  /** Drops the oldest segment. */
  shift(): void {
    if (this.length === 0) return
    this.length--
    if (++this.head === this.capacity) this.head = 0
  }

  seqAt(i: number): number {
    return this.d[this.at(i)]
  }

  lenAt(i: number): number {
    return this.d[this.at(i) + 1]
  }

  sendsAt(i: number): number {
    return this.d[this.at(i) + 2]
  }

  dfAt(i: number): boolean {
    return (this.d[this.at(i) + 3] & 1) === 1
  }

  /** Returns the position of the oldest segment starting at `seq`, or -1. */
  indexOfSeq(seq: number): number {
    for (let i = 0; i < this.length; i++) if (this.d[this.at(i)] === seq) return i
    return -1
  }

  /** Counts one more send of the i-th oldest segment, now `len` bytes long. */
  resent(i: number, len: number): void {
    const k = this.at(i)
    this.d[k + 2]++
    this.d[k + 1] = len
  }

  /** Returns the i-th oldest segment as an object (rarely: reports, tests). */
  get(i: number): Segment {
    const k = this.at(i)
    const d = this.d
    return {
      seq: d[k],
      len: d[k + 1],
      df: (d[k + 3] & 1) === 1,
      sends: d[k + 2],
      hdr: d[k + 3] >> 1
    }
  }

  /** Returns the segments, oldest first. */
  toArray(): Segment[] {
    const out: Segment[] = []
    for (let i = 0; i < this.length; i++) out.push(this.get(i))
    return out
  }

  private grow(): void {
    const capacity = this.capacity === 0 ? FIRST_CAPACITY : Math.min(this.capacity * 2, this.max)
    const d: number[] = new Array<number>(capacity * FIELDS).fill(0)
    for (let i = 0; i < this.length; i++) {
      const from = this.at(i)
      const to = i * FIELDS
      d[to] = this.d[from]
      d[to + 1] = this.d[from + 1]
      d[to + 2] = this.d[from + 2]
      d[to + 3] = this.d[from + 3]
    }
    this.d = d
    this.head = 0
    this.capacity = capacity
  }
}
