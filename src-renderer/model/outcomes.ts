import type { Outcome } from '../../src-main/shared/incident'

import { GOOD_OUTCOMES, OUTCOME_ORDER, isFailed } from '../../src-main/shared/outcomes'

export { OUTCOME_ORDER, isFailed }

/** Outcomes that mean the conversation worked. */
export const GOOD = GOOD_OUTCOMES

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
