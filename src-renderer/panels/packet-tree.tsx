import type { PacketNode } from '@shared/api'
import { useApp } from '../store/app-store'

/** The selected packet's decoded layers as a tree, the quoted packet of an ICMP error among them. */
export function PacketTree() {
  const packet = useApp((s) => s.packet)
  const error = useApp((s) => s.packetError)
  if (error) return <p className="error pad">{error}</p>
  if (!packet)
    return (
      <p className="muted pad">
        Open a packet from the evidence, a flow’s key packets or the timeline.
      </p>
    )
  return (
    <div className="packet-tree" aria-label="Packet">
      <div className="packet-head">
        <strong>
          {packet.path.split(/[\\/]/).pop()} #{packet.frame}
        </strong>{' '}
        <code>{packet.summary}</code>
      </div>
      <Nodes nodes={packet.layers} />
    </div>
  )
}

function Nodes({ nodes }: { nodes: PacketNode[] }) {
  return (
    <ul>
      {nodes.map((n, i) =>
        n.children && n.children.length > 0 ? (
          <li key={i}>
            <details open={!n.label.startsWith('Frame') && !n.label.startsWith('Link')}>
              <summary>{n.label}</summary>
              <Nodes nodes={n.children} />
            </details>
          </li>
        ) : (
          <li key={i} className="leaf">
            {n.label}
          </li>
        )
      )}
    </ul>
  )
}
