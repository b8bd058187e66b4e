import type { Outcome } from '../../src-main/shared/incident'

/** Outcomes that mean the conversation worked. */
export const GOOD: ReadonlySet<Outcome> = new Set<Outcome>(['established', 'answered'])

/** Every outcome in display order: the most telling failures first, successes last. */
export const OUTCOME_ORDER: readonly Outcome[] = [
  'syn-timeout',
  'refused-rst',
  'icmp-unreachable',
  'one-way',
  'stalled',
  'reset-midstream',
  'unanswered',
  'incomplete',
  'established',
  'answered'
]

/** Returns whether an outcome is a failure. */
export const isFailed = (o: Outcome): boolean => !GOOD.has(o)

/** Returns an outcome's place in OUTCOME_ORDER (unknown outcomes last). */
export function outcomeRank(o: Outcome): number {
  const i = OUTCOME_ORDER.indexOf(o)
  return i < 0 ? OUTCOME_ORDER.length : i
}

/** Returns an outcome as people say it ("SYN timeout"). */
export function outcomeLabel(o: Outcome): string {
  const names: Partial<Record<Outcome, string>> = {
    'syn-timeout': 'SYN timeout',
    'refused-rst': 'refused (RST)',
    'icmp-unreachable': 'ICMP unreachable',
    'reset-midstream': 'reset midstream'
  }
  return names[o] ?? o
}
