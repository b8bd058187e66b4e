import type { Packet } from '../capture/packet'
import type { Proto } from '../../shared/incident'
import type { Endpoint, PointFlow } from './point-flow'

/** What a protocol tracker needs from the point's flow table. */
export interface TrackContext {
  point: string
  /** The current conversation between two endpoints (either direction); `id` is the echo identifier or 0. */
  lookup(
    proto: Proto,
    ipX: string,
    portX: number,
    ipY: string,
    portY: number,
    id: number
  ): PointFlow | undefined
  /** Makes `flow` the current conversation between its endpoints; the one it replaces is finished. */
  replace(flow: PointFlow, id: number): void
  open(proto: Proto, a: Endpoint, b: Endpoint, known: boolean, p: Packet, digits: number): PointFlow
}
