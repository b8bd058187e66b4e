import type { Proto } from '../../shared/incident'
import { hash4 } from './address-ids'
import type { PointFlow } from './point-flow'

/** The protocols a table keys, as small numbers. */
const PROTO_CODE: Record<Proto, number> = { tcp: 0, udp: 1, icmp: 2, icmpv6: 3 }

/**
 * The current conversation per 5-tuple (or echo identifier), direction-free.
 * Looked up per packet by address ids and ports in an open-addressing table:
 * no key is built per packet, and no object per conversation beyond its slot.
 */
export interface FlowTable {
  /** The current conversation between two endpoints given by address id, either direction. */
  get(
    proto: Proto,
    idX: number,
    portX: number,
    idY: number,
    portY: number,
    id: number
  ): PointFlow | undefined
  /** Sets the current conversation; returns the one it replaces. */
  set(
    proto: Proto,
    idX: number,
    portX: number,
    idY: number,
    portY: number,
    id: number,
    flow: PointFlow
  ): PointFlow | undefined
}

/** Returns an empty table. */
export function createFlowTable(): FlowTable {
  // Per slot: low address id, high address id, ports (low << 16 | high), proto << 16 | id;
  // an empty slot has -1 in the last word.
  let mask = 1023
  let keys = new Int32Array((mask + 1) * 4).fill(-1)
  let flows: (PointFlow | undefined)[] = new Array(mask + 1).fill(undefined)
  let used = 0
  // The last key asked for, normalised (lower id, then port, first), and its slot: packets come
  // in runs of one conversation, so the next question is most often the same. Only grow() moves
  // a key to another slot.
  let lo = 0
  let hi = 0
  let ports = 0
  let tail = -1
  let lastSlot = -1

  /** Returns the slot of the key: where it is, or the empty slot where it would go. */
  const find = (lo: number, hi: number, ports: number, tail: number): number => {
    let slot = hash4(lo, hi, ports, tail) & mask
    for (;;) {
      const k = slot * 4
      const t = keys[k + 3]
      if (t === -1) return slot
      if (t === tail && keys[k] === lo && keys[k + 1] === hi && keys[k + 2] === ports) return slot
      slot = (slot + 1) & mask
    }
  }
  const grow = (): void => {
    const oldKeys = keys
    const oldFlows = flows
    mask = mask * 2 + 1
    keys = new Int32Array((mask + 1) * 4).fill(-1)
    flows = new Array(mask + 1).fill(undefined)
    for (let i = 0; i < oldFlows.length; i++) {
      const k = i * 4
      if (oldKeys[k + 3] === -1) continue
      const slot = find(oldKeys[k], oldKeys[k + 1], oldKeys[k + 2], oldKeys[k + 3])
      keys.set(oldKeys.subarray(k, k + 4), slot * 4)
      flows[slot] = oldFlows[i]
    }
    lastSlot = -1
  }
  /** Returns the slot for two endpoints, lower id (then port) first. */
  const slotOf = (
    proto: Proto,
    idX: number,
    portX: number,
    idY: number,
    portY: number,
    id: number
  ): number => {
    const t = (PROTO_CODE[proto] << 16) | id
    const xLow = idX < idY || (idX === idY && portX <= portY)
    const l = xLow ? idX : idY
    const h = xLow ? idY : idX
    const p = xLow ? (portX << 16) | portY : (portY << 16) | portX
    if (lastSlot >= 0 && t === tail && l === lo && h === hi && p === ports) return lastSlot
    lo = l
    hi = h
    ports = p
    tail = t
    return (lastSlot = find(l, h, p, t))
  }

  return {
    get(proto, idX, portX, idY, portY, id) {
      return flows[slotOf(proto, idX, portX, idY, portY, id)]
    },
    set(proto, idX, portX, idY, portY, id, flow) {
      const slot = slotOf(proto, idX, portX, idY, portY, id)
      const old = flows[slot]
      if (old === undefined) {
        // slotOf left the key it was asked for, normalised.
        const k = slot * 4
        keys[k] = lo
        keys[k + 1] = hi
        keys[k + 2] = ports
        keys[k + 3] = tail
        if (++used * 2 > mask) {
          flows[slot] = flow
          grow()
          return undefined
        }
      }
      flows[slot] = flow
      return old
    }
  }
}
