import { createStore } from 'zustand/vanilla'
import { useStore } from 'zustand'
import type { PacketDetail, Progress } from '@shared/api'
import type { Incident, WhatIf } from '@shared/incident'
import { NO_FILTER, type FlowFilter, type FlowSortKey } from '../model/flow-filter'
import type { LaneMode } from '../timeline/build-timeline'

/** Which tab the lower pane shows. */
export type LowerTab = 'flows' | 'ruleset' | 'packet'

/** The ruleset (or log) open in the ruleset view, and the line to show. */
export interface OpenText {
  path: string
  text: string | null
  error?: string
  /** The line to scroll to and highlight. */
  line?: number
}

/** A what-if run: the changes tried on copies of the snapshots, and what they would do. */
export interface WhatIfRun {
  changes: string[]
  /** The finding whose fix is tried; absent for a change typed by hand. */
  finding?: string
  /** Lines of the fix that cannot be tried (not an iptables, ip6tables, nft or sysctl command). */
  skipped: string[]
  running: boolean
  results?: WhatIf[]
  error?: string
}

/** The renderer's state: the incident, what is loading, what is selected, how views are set. */
export interface AppState {
  incident: Incident | null
  /** The paths the incident was analysed from (what a what-if analyses again). */
  paths: string[]
  /** The last what-if run, shown while the incident stays. */
  whatIf: WhatIfRun | null
  /** Paths being analysed, and each file's progress. */
  busy: boolean
  progress: Record<string, Progress>
  error: string | null
  note: string | null
  /** Whether files can be picked here (false in browser mode: serve names them). */
  canPick: boolean
  selectedFlow: string | null
  selectedFinding: string | null
  filter: FlowFilter
  sort: { key: FlowSortKey; desc: boolean }
  laneMode: LaneMode
  theme: 'light' | 'dark'
  tab: LowerTab
  ruleset: OpenText | null
  packet: PacketDetail | null
  packetError: string | null
  setBusy: (busy: boolean) => void
  setProgress: (p: Progress) => void
  setIncident: (incident: Incident, paths?: string[]) => void
  setWhatIf: (run: WhatIfRun | null) => void
  setError: (message: string | null) => void
  setNote: (message: string | null) => void
  setCanPick: (canPick: boolean) => void
  selectFlow: (id: string | null) => void
  selectFinding: (id: string | null) => void
  setFilter: (filter: Partial<FlowFilter>) => void
  setSort: (key: FlowSortKey) => void
  setLaneMode: (mode: LaneMode) => void
  setTheme: (theme: 'light' | 'dark') => void
  setTab: (tab: LowerTab) => void
  setRuleset: (open: OpenText | null) => void
  setPacket: (packet: PacketDetail | null, error?: string) => void
  clear: () => void
}

/** Returns a fresh store (one per test). */
export const createAppStore = () =>
  createStore<AppState>()((set, get) => ({
    incident: null,
    paths: [],
    whatIf: null,
    busy: false,
    progress: {},
    error: null,
    note: null,
    canPick: true,
    selectedFlow: null,
    selectedFinding: null,
    filter: NO_FILTER,
    sort: { key: 'first', desc: false },
    laneMode: 'conversation',
    theme: 'light',
    tab: 'flows',
    ruleset: null,
    packet: null,
    packetError: null,
    setBusy: (busy) => set(busy ? { busy, progress: {}, error: null } : { busy }),
    setProgress: (p) => set({ progress: { ...get().progress, [p.path]: p } }),
    setIncident: (incident, paths) =>
      set({
        incident,
        paths: paths ?? get().paths,
        whatIf: null,
        busy: false,
        error: null,
        selectedFlow: null,
        selectedFinding: null,
        ruleset: null,
        packet: null,
        packetError: null
      }),
    setWhatIf: (whatIf) => set({ whatIf }),
    setError: (error) => set({ error, busy: false }),
    setNote: (note) => set({ note }),
    setCanPick: (canPick) => set({ canPick }),
    // A flow and the finding that explains it are selected together: every view follows.
    selectFlow: (id) => {
      const incident = get().incident
      const finding = id ? incident?.findings.find((f) => f.flows.includes(id)) : undefined
      set({ selectedFlow: id, selectedFinding: finding?.id ?? null })
    },
    selectFinding: (id) => {
      const finding = get().incident?.findings.find((f) => f.id === id)
      set({ selectedFinding: id, selectedFlow: finding?.flows[0] ?? null })
    },
    setFilter: (filter) => set({ filter: { ...get().filter, ...filter } }),
    setSort: (key) => {
      const sort = get().sort
      set({ sort: { key, desc: sort.key === key ? !sort.desc : false } })
    },
    setLaneMode: (laneMode) => set({ laneMode }),
    setTheme: (theme) => set({ theme }),
    setTab: (tab) => set({ tab }),
    setRuleset: (ruleset) => set({ ruleset, tab: ruleset ? 'ruleset' : get().tab }),
    setPacket: (packet, error) =>
      set({ packet, packetError: error ?? null, tab: packet || error ? 'packet' : get().tab }),
    clear: () => set({ selectedFlow: null, selectedFinding: null, filter: NO_FILTER })
  }))

export const appStore = createAppStore()

/** Selects the smallest slice a component needs. */
export const useApp = <T>(pick: (s: AppState) => T): T => useStore(appStore, pick)
