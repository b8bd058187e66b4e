import type { PacketView } from '../capture/packet-view'
import type { Proto } from '../../shared/incident'
import type { AddressIds } from './address-ids'
import type { Endpoint, PointFlow } from './point-flow'

/** What a protocol tracker needs from the point's flow table. */
export interface TrackContext {
  point: string
  /** Numbers the addresses the table is keyed by. */
  ids: AddressIds
  /** The current conversation between two endpoints by address id (either direction); `id` is the echo identifier or 0. */
  lookup(
    proto: Proto,
    idX: number,
    portX: number,
    idY: number,
    portY: number,
    id: number
  ): PointFlow | undefined
  /**
   * Makes `flow` the current conversation between two endpoints given by address id (either
   * order, as in lookup); the one it replaces is finished.
   */
  replace(flow: PointFlow, idX: number, portX: number, idY: number, portY: number, id: number): void
  open(
    proto: Proto,
    a: Endpoint,
    b: Endpoint,
    known: boolean,
    p: PacketView,
    digits: number
  ): PointFlow
}
