import { useMemo } from 'react'
import type { Flow } from '@shared/incident'
import { filterFlows, findingByFlow, type FlowSortKey } from '../model/flow-filter'
import { isFailed, outcomeLabel } from '../model/outcomes'
import { appStore, useApp } from '../store/app-store'
import { FlowFilterBar } from './flow-filter-bar'
import { VirtualList } from './virtual-list'

const ROW_PX = 22
const COLUMNS: { key: FlowSortKey; label: string }[] = [
  { key: 'first', label: 'First' },
  { key: 'proto', label: 'Proto' },
  { key: 'src', label: 'Source' },
  { key: 'dst', label: 'Destination' },
  { key: 'dport', label: 'Port' },
  { key: 'outcome', label: 'Outcome' },
  { key: 'packets', label: 'Pkts' },
  { key: 'cause', label: 'Cause' }
]

/** Every conversation, filtered and sorted; only the rows in view are rendered. */
export function FlowsTable() {
  const incident = useApp((s) => s.incident)
  const filter = useApp((s) => s.filter)
  const sort = useApp((s) => s.sort)
  const selected = useApp((s) => s.selectedFlow)
  const flows = useMemo(
    () => (incident ? filterFlows(incident, filter, sort) : []),
    [incident, filter, sort]
  )
  const causes = useMemo(() => (incident ? findingByFlow(incident) : new Map()), [incident])
  const selectedIndex = useMemo(() => flows.findIndex((f) => f.id === selected), [flows, selected])
  const row = (i: number) => {
    const f: Flow = flows[i]
    return (
      <div
        key={f.id}
        role="row"
        className={`flow-row ${f.id === selected ? 'selected' : ''} ${isFailed(f.outcome) ? 'failed' : ''}`}
        data-flow={f.id}
        onClick={() => appStore.getState().selectFlow(f.id)}
      >
        <span>{f.first.slice(11, 26)}</span>
        <span>{f.proto}</span>
        <span title={f.src}>
          {f.src}
          {f.sport !== undefined ? `:${f.sport}` : ''}
        </span>
        <span title={f.dst}>{f.dst}</span>
        <span>{f.dport ?? ''}</span>
        <span className="outcome">{outcomeLabel(f.outcome)}</span>
        <span className="num">{f.packets}</span>
        <span>{causes.get(f.id)?.cause.kind ?? ''}</span>
      </div>
    )
  }
  return (
    <div className="flows-table" role="table" aria-label="Flows">
      <FlowFilterBar shown={flows.length} total={incident?.flows.length ?? 0} />
      <div className="flow-row head" role="row">
        {COLUMNS.map((c) => (
          <button key={c.key} onClick={() => appStore.getState().setSort(c.key)}>
            {c.label}
            {sort.key === c.key ? (sort.desc ? ' ▾' : ' ▴') : ''}
          </button>
        ))}
      </div>
      <VirtualList count={flows.length} rowPx={ROW_PX} row={row} scrollTo={selectedIndex} />
    </div>
  )
}
