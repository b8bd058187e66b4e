import { formatIpv6 } from '../capture/format-address'

/**
 * Small integer ids for addresses, one per distinct address text: the flow
 * table keys conversations by these numbers, and an address's text is built
 * once, when it is first seen. IPv4 addresses (int32) and IPv6 addresses (the
 * 16 bytes at an offset) are looked up in open-addressing tables; text is the
 * fallback for packets the full decoder made.
 */
export class AddressIds {
  /** Text of each id. */
  readonly texts: string[] = []
  private readonly byText = new Map<string, number>()
  private v4Mask = 1023
  /** Per slot: the address; ids are stored + 1 so 0 means empty. */
  private v4Keys = new Int32Array(1024)
  private v4Ids = new Int32Array(1024)
  private v6Mask = 255
  private v6Keys = new Int32Array(256 * 4)
  private v6Ids = new Int32Array(256)
  private v4Count = 0
  private v6Count = 0
  /**
   * The last two IPv4 addresses numbered and their ids: a run of one conversation's packets asks
   * for the same two, either way round, again and again.
   */
  private recentA = 0
  private recentIdA = -1
  private recentB = 0
  private recentIdB = -1

  /** Returns the id of a text address. */
  ofText(text: string): number {
    let id = this.byText.get(text)
    if (id === undefined) {
      id = this.texts.length
      this.texts.push(text)
      this.byText.set(text, id)
    }
    return id
  }

  /** Returns the id of the IPv4 address `a` (big-endian int32). */
  v4(a: number): number {
    if (a === this.recentA && this.recentIdA >= 0) return this.recentIdA
    if (a === this.recentB && this.recentIdB >= 0) return this.recentIdB
    const id = this.v4Lookup(a)
    this.recentB = this.recentA
    this.recentIdB = this.recentIdA
    this.recentA = a
    this.recentIdA = id
    return id
  }

  private v4Lookup(a: number): number {
    let slot = hash1(a) & this.v4Mask
    for (;;) {
      const id = this.v4Ids[slot]
      if (id === 0) break
      if (this.v4Keys[slot] === a) return id - 1
      slot = (slot + 1) & this.v4Mask
    }
    const text = (a >>> 24) + '.' + ((a >>> 16) & 255) + '.' + ((a >>> 8) & 255) + '.' + (a & 255)
    const id = this.ofText(text)
    this.v4Keys[slot] = a
    this.v4Ids[slot] = id + 1
    if (++this.v4Count * 2 > this.v4Mask) this.growV4()
    return id
  }

  /** Returns the id of the IPv6 address in the 16 bytes at `off`. */
  v6(b: Uint8Array, off: number): number {
    const w0 = (b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]
    const w1 = (b[off + 4] << 24) | (b[off + 5] << 16) | (b[off + 6] << 8) | b[off + 7]
    const w2 = (b[off + 8] << 24) | (b[off + 9] << 16) | (b[off + 10] << 8) | b[off + 11]
    const w3 = (b[off + 12] << 24) | (b[off + 13] << 16) | (b[off + 14] << 8) | b[off + 15]
    let slot = hash4(w0, w1, w2, w3) & this.v6Mask
    const keys = this.v6Keys
    for (;;) {
      const id = this.v6Ids[slot]
      if (id === 0) break
      const k = slot * 4
      if (keys[k] === w0 && keys[k + 1] === w1 && keys[k + 2] === w2 && keys[k + 3] === w3)
        return id - 1
      slot = (slot + 1) & this.v6Mask
    }
    const id = this.ofText(formatIpv6(b, off))
    this.putV6(slot, w0, w1, w2, w3, id)
    if (++this.v6Count * 2 > this.v6Mask) this.growV6()
    return id
  }

  private growV4(): void {
    const keys = this.v4Keys
    const ids = this.v4Ids
    this.v4Mask = this.v4Mask * 2 + 1
    this.v4Keys = new Int32Array(this.v4Mask + 1)
    this.v4Ids = new Int32Array(this.v4Mask + 1)
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] === 0) continue
      let slot = hash1(keys[i]) & this.v4Mask
      while (this.v4Ids[slot] !== 0) slot = (slot + 1) & this.v4Mask
      this.v4Keys[slot] = keys[i]
      this.v4Ids[slot] = ids[i]
    }
  }

  private putV6(slot: number, w0: number, w1: number, w2: number, w3: number, id: number): void {
    const k = slot * 4
    this.v6Keys[k] = w0
    this.v6Keys[k + 1] = w1
    this.v6Keys[k + 2] = w2
    this.v6Keys[k + 3] = w3
    this.v6Ids[slot] = id + 1
  }

  private growV6(): void {
    const keys = this.v6Keys
    const ids = this.v6Ids
    this.v6Mask = this.v6Mask * 2 + 1
    this.v6Keys = new Int32Array((this.v6Mask + 1) * 4)
    this.v6Ids = new Int32Array(this.v6Mask + 1)
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] === 0) continue
      const k = i * 4
      let slot = hash4(keys[k], keys[k + 1], keys[k + 2], keys[k + 3]) & this.v6Mask
      while (this.v6Ids[slot] !== 0) slot = (slot + 1) & this.v6Mask
      this.putV6(slot, keys[k], keys[k + 1], keys[k + 2], keys[k + 3], ids[i] - 1)
    }
  }
}

/**
 * Hashes are cut to 30 bits: always a small integer to V8, so a hash returned from a call that
 * is not inlined is never boxed as a heap number (one allocation per packet, and deoptimisation).
 * Tables are far smaller than 2^30 slots.
 */
const HASH_BITS = 0x3fffffff

/** Returns a hash of one int32 word. */
function hash1(a: number): number {
  const h = Math.imul(a, 0x9e3779b1)
  return (h ^ (h >>> 15)) & HASH_BITS
}

/** Returns a hash of four int32 words. */
export function hash4(a: number, b: number, c: number, d: number): number {
  let h = Math.imul(a ^ 0x27d4eb2d, 0x9e3779b1)
  h = Math.imul(h ^ (h >>> 15) ^ b, 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13) ^ c, 0xc2b2ae35)
  h = Math.imul(h ^ (h >>> 16) ^ d, 0x9e3779b1)
  return (h ^ (h >>> 15)) & HASH_BITS
}
