import type { Clock } from '../../clock.js';
import type { Db } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { CounterMeasure, CounterMeasurePut } from '../../../schemas/notification.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import { BUILT_IN_COUNTER_MEASURES } from './counter-measures.js';
import { deleteCounterMeasure, listTeamCounterMeasures, upsertCounterMeasure } from './site-contact.repository.js';

/**
 * The counter-measure library (issue 19 part 2): the built-in templates with the team's own
 * over them (same id: the team's wins; a new id: added). Writes are audited by id only.
 */
export interface CounterMeasureService {
  list(): Promise<CounterMeasure[]>;
  get(id: string): Promise<CounterMeasure>;
  put(id: string, input: CounterMeasurePut, actor: string): Promise<CounterMeasure>;
  /** Removes the team's template; a built-in of the same id shows again. 404 when the team has none. */
  remove(id: string, actor: string): Promise<void>;
}

export function createCounterMeasureService(deps: { db: Db; clock: Clock; audit: AuditLog }): CounterMeasureService {
  const { db, clock, audit } = deps;

  async function list(): Promise<CounterMeasure[]> {
    const team = await listTeamCounterMeasures(db);
    const ids = new Set(team.map((c) => c.id));
    // The team's first: a template for a type of theirs is picked before a built-in one.
    return [...team, ...BUILT_IN_COUNTER_MEASURES.filter((c) => !ids.has(c.id)).map((c) => ({ ...c, source: 'built-in' as const }))];
  }

  async function get(id: string): Promise<CounterMeasure> {
    const found = (await list()).find((c) => c.id === id);
    if (!found) throw new ProblemError('not-found', `no counter-measure ${id}`);
    return found;
  }

  return {
    list,
    get,
    async put(id, input, actor) {
      await upsertCounterMeasure(
        db,
        { id, title: input.title, category: input.category ?? null, types: input.types ?? [], texts: input.texts },
        actor,
        clock(),
      );
      await audit.append(db, { kind: 'counter-measure.saved', actor, details: { counterMeasure: id } });
      return get(id);
    },
    async remove(id, actor) {
      if (!(await deleteCounterMeasure(db, id))) throw new ProblemError('not-found', `the team has no counter-measure ${id}`);
      await audit.append(db, { kind: 'counter-measure.removed', actor, details: { counterMeasure: id } });
    },
  };
}
