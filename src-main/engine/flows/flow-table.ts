import type { Proto } from '../../shared/incident'
import type { PointFlow } from './point-flow'

/**
 * The current conversation per 5-tuple (or echo identifier), direction-free.
 * Nested maps keyed by the address strings (cached by the decoder, so their
 * hashes are computed once) and a number for the ports: no key is built per packet.
 */
export interface FlowTable {
  get(
    proto: Proto,
    ipX: string,
    portX: number,
    ipY: string,
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

/** Returns an empty table. */
export function createFlowTable(): FlowTable {
  const tables = new Map<Proto, Map<string, Level2>>()
  /** The order-free key of two endpoints: lower address (then port) first. */
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
  const leaf = (proto: Proto, low: string, high: string, create: boolean): Level3 | undefined => {
    let byLow = tables.get(proto)
    if (!byLow) {
      if (!create) return undefined
      tables.set(proto, (byLow = new Map()))
    }
    let byHigh = byLow.get(low)
    if (!byHigh) {
      if (!create) return undefined
      byLow.set(low, (byHigh = new Map()))
    }
    let last = byHigh.get(high)
    if (!last && create) byHigh.set(high, (last = new Map()))
    return last
  }
  return {
    get(proto, ipX, portX, ipY, portY, id) {
      const [low, high, k] = key(ipX, portX, ipY, portY, id)
      return leaf(proto, low, high, false)?.get(k)
    },
    set(proto, ipX, portX, ipY, portY, id, flow) {
      const [low, high, k] = key(ipX, portX, ipY, portY, id)
      const m = leaf(proto, low, high, true)!
      const old = m.get(k)
      m.set(k, flow)
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
