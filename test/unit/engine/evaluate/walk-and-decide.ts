import { expect } from 'vitest'
import { decide } from '../../../../src-main/engine/evaluate/compile-ruleset'
import { parsePacketSpec } from '../../../../src-main/engine/evaluate/packet-spec'
import {
  walkNetfilter,
  type WalkOptions,
  type WalkResult
} from '../../../../src-main/engine/evaluate/walk-netfilter'
import type { Ruleset } from '../../../../src-main/engine/rulesets/model'

/**
 * Walks a packet given as a SPEC through a ruleset, checks that the compiled decision agrees
 * with the traced walk (verdict, uncertainty, conntrack state, deciding rule), and returns the walk.
 */
export function walkAndDecide(rs: Ruleset, spec: string, options: WalkOptions): WalkResult {
  const packet = parsePacketSpec(spec)
  if (typeof packet === 'string') throw new Error(packet)
  const walked = walkNetfilter(rs, packet, options)
  expect(decide(rs, packet, options)).toMatchObject({
    verdict: walked.verdict,
    uncertain: walked.uncertain,
    ct: walked.ct,
    decidedBy: walked.decidedBy
  })
  return walked
}
