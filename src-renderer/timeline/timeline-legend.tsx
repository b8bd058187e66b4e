import { MARK_NAMES } from './timeline-data'

/** Short names for the legend; the tooltip and MARK_NAMES give the long ones. */
const SHORT = [
  'SYN',
  'retx',
  'SYN-ACK',
  'RST',
  'FIN',
  'ICMP',
  'frag-needed',
  'drop log',
  'data retx',
  'request',
  'reply'
]

/** The symbol drawn for each mark, in MARK_NAMES order (see draw-timeline's shapes). */
const SYMBOLS = ['▶', '▷', '◀', '✕', '|', '◆', '◆', '●', '▪', '▶', '◀']
const WHERE = ['higher', 'centred', 'lower']

/** What the marks mean, and which height in a lane stands for which capture point. */
export function TimelineLegend({ points }: { points: string[] }) {
  return (
    <div className="timeline-legend" aria-label="Legend">
      {MARK_NAMES.map((name, i) => (
        <span key={name} title={name}>
          <span className="symbol" style={{ color: `var(--tl-mark-${i})` }}>
            {SYMBOLS[i]}
          </span>
          {SHORT[i]}
        </span>
      ))}
      <span>
        <span className="band-swatch" />
        ct full
      </span>
      {points.length > 1 && (
        <span
          title={`A mark's height in its lane is the capture point that saw it: ${points
            .map((p, k) => `${p} ${WHERE[k % 3]}`)
            .join(', ')}`}
        >
          ↕ point
        </span>
      )}
    </div>
  )
}
