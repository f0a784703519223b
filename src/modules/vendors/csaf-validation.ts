import validateStrict from '@secvisogram/csaf-validator-lib/validateStrict.js';
import { csaf_2_0_strict } from '@secvisogram/csaf-validator-lib/schemaTests.js';
import * as mandatory from '@secvisogram/csaf-validator-lib/mandatoryTests.js';
import { ProblemError } from '../../http/problem.js';

/** The CSAF 2.0 strict schema test and every mandatory test (CSAF 2.0 §6.1) of the BSI validator library. */
const TESTS = [csaf_2_0_strict, ...Object.values(mandatory)];

export interface CsafFinding {
  test: string;
  pointer: string;
  message: string;
}

export async function csafFindings(document: unknown): Promise<CsafFinding[]> {
  const result = await validateStrict(TESTS, document);
  return result.tests.flatMap((t) => t.errors.map((e) => ({ test: t.name, pointer: e.instancePath || '/', message: e.message })));
}

/** Throws csaf-invalid (422) listing what failed: nothing invalid is ever signed or published. */
export async function assertValidCsaf(document: unknown): Promise<void> {
  const findings = await csafFindings(document);
  if (findings.length > 0) {
    throw new ProblemError('csaf-invalid', `the CSAF document fails ${findings.length} check(s)`, {
      errors: findings.slice(0, 50).map((f) => ({ location: 'document', pointer: f.pointer, message: `${f.test}: ${f.message}` })),
    });
  }
}
