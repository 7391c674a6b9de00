/**
 * Tree-builder DSL, after Gravity's builder: phases are made with a relative key and get their
 * absolute id only when the tree is turned into plan data, so a subtree can be assembled before
 * it knows where it hangs. Requirements hold builder references, not strings, so they cannot
 * name a phase that was never built; `validatePlan` still checks the result.
 */
import { ExitCode, HoistError } from '../../errors.js';
import type { ExecutorKey } from '../phase-data.js';
import type { Phase } from '../types.js';

/** What a phase carries besides its place in the tree. */
export interface PhaseSpec {
  description: string;
  executor?: ExecutorKey;
  node?: string;
  server?: string;
  /** Children at once; groups only, default 1. */
  parallel?: number;
  data?: Record<string, unknown>;
}

/** A phase under construction. */
export class PhaseBuilder {
  readonly key: string;
  readonly spec: PhaseSpec;
  readonly children: PhaseBuilder[] = [];
  private readonly deps: PhaseBuilder[] = [];
  private parent?: PhaseBuilder;

  constructor(key: string, spec: PhaseSpec) {
    this.key = key;
    this.spec = spec;
  }

  /** Absolute id; the invisible root has the empty id so top-level phases become `/key`. */
  get id(): string {
    return this.parent ? `${this.parent.id}/${this.key}` : '';
  }

  /** Adds children that run in any order: no implied requirement (Gravity `AddParallel`). */
  addParallel(...children: PhaseBuilder[]): this {
    for (const child of children) this.adopt(child);
    return this;
  }

  /** Adds children that each require the sibling added just before (Gravity `AddSequential`). */
  addSequential(...children: PhaseBuilder[]): this {
    for (const child of children) {
      const previous = this.children.at(-1);
      if (previous) child.require(previous);
      this.adopt(child);
    }
    return this;
  }

  /** Makes this phase (and so every descendant) wait for the given phases. */
  require(...deps: PhaseBuilder[]): this {
    for (const dep of deps) if (!this.deps.includes(dep)) this.deps.push(dep);
    return this;
  }

  /** Plan data for this phase and its subtree, ids resolved. */
  toPhase(): Phase {
    const { description, executor, node, server, data } = this.spec;
    // Built key by key so stored plans read in a stable, human order.
    const phase = { id: this.id } as Phase;
    if (executor !== undefined) phase.executor = executor;
    phase.description = description;
    if (node !== undefined) phase.node = node;
    if (server !== undefined) phase.server = server;
    phase.requires = this.deps.map((d) => d.id);
    if (this.children.length > 0) phase.parallel = this.spec.parallel ?? 1;
    // A copy, so that no two plans built from one tree share mutable data.
    if (data !== undefined && Object.keys(data).length > 0) phase.data = structuredClone(data);
    if (this.children.length > 0) phase.phases = this.children.map((c) => c.toPhase());
    return phase;
  }

  private adopt(child: PhaseBuilder): void {
    // One phase, one place: a second parent would silently change the first one's ids.
    if (child.parent) {
      throw new HoistError('ERR_PLAN_INVALID', `phase "${child.key}" is already under "${child.parent.key || '/'}"`, ExitCode.internal, {
        hint: 'this is a bug in the plan builder; report it with the input that produced it',
      });
    }
    child.parent = this;
    this.children.push(child);
  }
}

/** Shorthand for `new PhaseBuilder(key, spec)`. */
export function phase(key: string, spec: PhaseSpec): PhaseBuilder {
  return new PhaseBuilder(key, spec);
}

/** The invisible root: its children are the plan's top-level phases. */
export function planRoot(): PhaseBuilder {
  return new PhaseBuilder('', { description: '' });
}
