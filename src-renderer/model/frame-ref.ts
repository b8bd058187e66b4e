import type { Incident } from '@shared/incident'

/** A packet's place: the capture file's path and its frame number. */
export interface FrameRef {
  path: string
  frame: number
  point: string
}

/** Returns the capture and frame of a "point:file#frame" sighting, or undefined when no loaded capture matches. */
export function resolveFrame(incident: Incident, ref: string): FrameRef | undefined {
  const m = /^(.*):([^:#]+)#(\d+)$/.exec(ref)
  if (!m) return undefined
  const [, point, file, frame] = m
  const captures = incident.inputs.filter((i) => i.kind === 'capture')
  const byName = captures.filter((i) => baseName(i.path) === file)
  const input = byName.find((i) => i.point === point) ?? byName[0]
  return input ? { path: input.path, frame: Number(frame), point } : undefined
}

/** Returns a path's last component, either separator. */
export function baseName(path: string): string {
  return path.split(/[\\/]/).filter(Boolean).pop() ?? path
}
