import type { Evidence } from '@shared/incident'
import { openPacket, openText } from '../store/actions'
import { PacketWalk } from './packet-walk'

/** The evidence a finding rests on; each item opens its packet, log line or rule. */
export function EvidenceList({ evidence }: { evidence: Evidence[] }) {
  return (
    <ul className="evidence">
      {evidence.map((e, i) => (
        <li key={i} className={`ev ev-${e.kind}`}>
          <div className="ev-line">
            <span className={`weight ${e.weight}`}>{e.weight}</span>
            <span className="kind">{e.kind}</span>
            <span className="text">{e.text}</span>
            <OpenButton e={e} />
          </div>
          {e.kind === 'log' && <code className="raw">{e.raw}</code>}
          {e.kind === 'log' && e.alignment && <div className="muted">clock: {e.alignment}</div>}
          {e.kind === 'simulation' && <PacketWalk sim={e} />}
        </li>
      ))}
    </ul>
  )
}

function OpenButton({ e }: { e: Evidence }) {
  if ((e.kind === 'packet' || e.kind === 'icmp') && e.frames && e.frames.length > 0) {
    const frames = e.frames
    return (
      <button className="open" onClick={() => void openPacket(frames[0])} title={frames.join(', ')}>
        packet
      </button>
    )
  }
  if (e.kind === 'log' || e.kind === 'counter' || (e.kind === 'conntrack' && e.file)) {
    const file = e.file!
    return (
      <button className="open" onClick={() => void openText(file, e.line)}>
        {e.kind === 'log' ? 'log line' : 'line'} {e.line ?? ''}
      </button>
    )
  }
  if (e.kind === 'simulation') {
    const decided = [...e.trace].reverse().find((s) => s.line !== undefined)
    return (
      <button className="open" onClick={() => void openText(e.file, decided?.line)}>
        rule
      </button>
    )
  }
  return null
}
