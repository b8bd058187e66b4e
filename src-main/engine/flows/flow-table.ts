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
  const leaf = (
    proto: Proto,
    ipX: string,
    portX: number,
    ipY: string,
    portY: number,
    create: boolean
  ): Level3 | undefined => {
    const xLow = ipX < ipY || (ipX === ipY && portX <= portY)
    const low = xLow ? ipX : ipY
    const high = xLow ? ipY : ipX
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
  const third = (ipX: string, portX: number, ipY: string, portY: number, id: number): number => {
    const xLow = ipX < ipY || (ipX === ipY && portX <= portY)
    // Ports (or an echo identifier) fit in 48 bits: exact as a double.
    return (xLow ? portX * 65536 + portY : portY * 65536 + portX) * 65536 + id
  }
  return {
    get(proto, ipX, portX, ipY, portY, id) {
      return leaf(proto, ipX, portX, ipY, portY, false)?.get(third(ipX, portX, ipY, portY, id))
    },
    set(proto, ipX, portX, ipY, portY, id, flow) {
      const m = leaf(proto, ipX, portX, ipY, portY, true)!
      const k = third(ipX, portX, ipY, portY, id)
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
