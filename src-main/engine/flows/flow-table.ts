import type { Proto } from '../../shared/incident'
import type { AddressIds } from './address-ids'
import { hash4 } from './address-ids'
import type { PointFlow } from './point-flow'

/** The protocols a table keys, as small numbers. */
const PROTO_CODE: Record<Proto, number> = { tcp: 0, udp: 1, icmp: 2, icmpv6: 3 }

/**
 * The current conversation per 5-tuple (or echo identifier), direction-free.
 * Looked up per packet by address ids and ports in an open-addressing table:
 * no key is built per packet. Nested maps keyed by the address text keep the
 * order values() lists the conversations in; they change only when a
 * conversation opens.
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
    ipX: string,
    portX: number,
    ipY: string,
    portY: number,
    id: number,
    flow: PointFlow
  ): PointFlow | undefined
  values(): PointFlow[]
}

type Level3 = Map<number, PointFlow>
type Level2 = Map<string, Level3>

/** Returns an empty table whose addresses are numbered by `ids`. */
export function createFlowTable(ids: AddressIds): FlowTable {
  const tables = new Map<Proto, Map<string, Level2>>()
  // Per slot: low address id, high address id, ports (low << 16 | high), proto << 16 | id;
  // an empty slot has -1 in the last word.
  let mask = 1023
  let keys = new Int32Array((mask + 1) * 4).fill(-1)
  let flows: (PointFlow | undefined)[] = new Array(mask + 1).fill(undefined)
  let used = 0

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
    const tail = (PROTO_CODE[proto] << 16) | id
    return idX < idY || (idX === idY && portX <= portY)
      ? find(idX, idY, (portX << 16) | portY, tail)
      : find(idY, idX, (portY << 16) | portX, tail)
  }

  /** The order-free key of two endpoints in the nested maps: lower address text (then port) first. */
  const key = (
    ipX: string,
    portX: number,
    ipY: string,
    portY: number,
    id: number
  ): [string, string, number] => {
    const xLow = ipX < ipY || (ipX === ipY && portX <= portY)
    // Ports (or an echo identifier) fit in 48 bits: exact as a double.
    return xLow
      ? [ipX, ipY, (portX * 65536 + portY) * 65536 + id]
      : [ipY, ipX, (portY * 65536 + portX) * 65536 + id]
  }
  const leaf = (proto: Proto, low: string, high: string): Level3 => {
    let byLow = tables.get(proto)
    if (!byLow) tables.set(proto, (byLow = new Map()))
    let byHigh = byLow.get(low)
    if (!byHigh) byLow.set(low, (byHigh = new Map()))
    let last = byHigh.get(high)
    if (!last) byHigh.set(high, (last = new Map()))
    return last
  }
  return {
    get(proto, idX, portX, idY, portY, id) {
      return flows[slotOf(proto, idX, portX, idY, portY, id)]
    },
    set(proto, ipX, portX, ipY, portY, id, flow) {
      const idX = ids.ofText(ipX)
      const idY = ids.ofText(ipY)
      const slot = slotOf(proto, idX, portX, idY, portY, id)
      const old = flows[slot]
      if (old === undefined) {
        const tail = (PROTO_CODE[proto] << 16) | id
        const xLow = idX < idY || (idX === idY && portX <= portY)
        const k = slot * 4
        keys[k] = xLow ? idX : idY
        keys[k + 1] = xLow ? idY : idX
        keys[k + 2] = xLow ? (portX << 16) | portY : (portY << 16) | portX
        keys[k + 3] = tail
        if (++used * 2 > mask) {
          flows[slot] = flow
          grow()
        }
      }
      flows[slotOf(proto, idX, portX, idY, portY, id)] = flow
      const [low, high, k] = key(ipX, portX, ipY, portY, id)
      leaf(proto, low, high).set(k, flow)
      return old
    },
    values() {
      const out: PointFlow[] = []
      for (const byLow of tables.values())
        for (const byHigh of byLow.values())
          for (const m of byHigh.values()) out.push(...m.values())
      return out
    }
  }
}
