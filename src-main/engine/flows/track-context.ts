import type { Packet } from '../capture/packet'
import type { Proto } from '../../shared/incident'
import type { Endpoint, PointFlow } from './point-flow'

/** What a protocol tracker needs from the point's flow table. */
export interface TrackContext {
  point: string
  lookup(key: string): PointFlow | undefined
  /** Makes `flow` the current conversation for `key`; the one it replaces is finished. */
  replace(key: string, flow: PointFlow): void
  open(proto: Proto, a: Endpoint, b: Endpoint, known: boolean, p: Packet, digits: number): PointFlow
}
