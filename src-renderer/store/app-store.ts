import { createStore } from 'zustand/vanilla'
import { useStore } from 'zustand'
import type { CaptureOverview, Progress } from '@shared/api'

/** The renderer's state: what was loaded, what is loading, what is selected. */
export interface AppState {
  files: CaptureOverview[]
  loading: Progress | null
  error: string | null
  selectedFile: number
  setLoaded: (files: CaptureOverview[]) => void
  setLoading: (p: Progress | null) => void
  setError: (message: string | null) => void
  selectFile: (index: number) => void
}

/** Returns a fresh store (one per test). */
export const createAppStore = () =>
  createStore<AppState>()((set) => ({
    files: [],
    loading: null,
    error: null,
    selectedFile: 0,
    setLoaded: (files) => set({ files, loading: null, error: null, selectedFile: 0 }),
    setLoading: (loading) => set({ loading }),
    setError: (error) => set({ error, loading: null }),
    selectFile: (selectedFile) => set({ selectedFile })
  }))

export const appStore = createAppStore()

/** Selects the smallest slice a component needs. */
export const useApp = <T>(pick: (s: AppState) => T): T => useStore(appStore, pick)
