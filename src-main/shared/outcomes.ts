/**
 * Outcomes in the order every view and report lists them, and which of them
 * mean the conversation worked. One list for the engine's reports and the
 * renderer alike.
 */
import type { Outcome } from './incident'

/** Outcomes that mean the conversation worked. */
export const GOOD_OUTCOMES: ReadonlySet<Outcome> = new Set<Outcome>(['established', 'answered'])

/** Failed outcomes, the most telling first. */
export const FAILED_ORDER: readonly Outcome[] = [
  'syn-timeout',
  'refused-rst',
  'icmp-unreachable',
  'one-way',
  'stalled',
  'reset-midstream',
  'unanswered',
  'incomplete'
]

/** Every outcome in display order: failures first, successes last. */
export const OUTCOME_ORDER: readonly Outcome[] = [...FAILED_ORDER, 'established', 'answered']

/** Returns whether an outcome is a failure (incomplete counts: the capture cannot show success). */
export function isFailed(outcome: Outcome): boolean {
  return !GOOD_OUTCOMES.has(outcome)
}
