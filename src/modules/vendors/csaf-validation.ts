import type { CsafValidationResult } from '@secvisogram/csaf-validator-lib/validateStrict.js';
import { ProblemError } from '../../http/problem.js';

/**
 * The CSAF 2.0 strict schema test and every mandatory test (CSAF 2.0 §6.1) of the BSI validator
 * library. Loaded on first use, not with the module: importing the library compiles its schemas
 * (about 10 s of CPU), which every node start, every CLI command and every test process would
 * otherwise pay although only publishing an advisory needs it.
 */
let validator: Promise<(document: unknown) => Promise<CsafValidationResult>> | undefined;
function loadValidator(): Promise<(document: unknown) => Promise<CsafValidationResult>> {
  validator ??= (async () => {
    const [{ default: validateStrict }, { csaf_2_0_strict }, mandatory] = await Promise.all([
      import('@secvisogram/csaf-validator-lib/validateStrict.js'),
      import('@secvisogram/csaf-validator-lib/schemaTests.js'),
      import('@secvisogram/csaf-validator-lib/mandatoryTests.js'),
    ]);
    const tests = [csaf_2_0_strict, ...Object.values(mandatory as unknown as Record<string, (doc: unknown) => unknown>)];
    return (document: unknown) => validateStrict(tests, document);
  })();
  return validator;
}

export interface CsafFinding {
  test: string;
  pointer: string;
  message: string;
}

export async function csafFindings(document: unknown): Promise<CsafFinding[]> {
  const result = await (await loadValidator())(document);
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
