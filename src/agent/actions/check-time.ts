/** `check.time`: the node's clock, so the orchestrator can compute drift with the round trip. */
import { z } from 'zod';
import { defineAction } from './types.js';

/** Result of `check.time`. */
export interface CheckTimeResult {
  /** Node time, ms since the epoch, read as late as possible before answering. */
  time: number;
}

/** Returns the node time; drift and its allowance (300 ms) are the orchestrator's to judge. */
export const checkTimeAction = defineAction({
  name: 'check.time',
  description: 'read the node clock',
  params: z.object({}),
  async run(): Promise<CheckTimeResult> {
    return { time: Date.now() };
  },
});
