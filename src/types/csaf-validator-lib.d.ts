/** Types for the parts of @secvisogram/csaf-validator-lib we use (it ships JavaScript only). */
declare module '@secvisogram/csaf-validator-lib/validateStrict.js' {
  export interface CsafValidationResult {
    isValid: boolean;
    tests: Array<{
      name: string;
      isValid: boolean;
      errors: Array<{ message: string; instancePath: string }>;
      warnings: unknown[];
      infos: unknown[];
    }>;
  }
  type DocumentTest = (doc: unknown) => unknown;
  export default function validateStrict(tests: DocumentTest[], document: unknown): Promise<CsafValidationResult>;
}
declare module '@secvisogram/csaf-validator-lib/schemaTests.js' {
  export const csaf_2_0_strict: (doc: unknown) => unknown;
  export const csaf_2_0: (doc: unknown) => unknown;
}
declare module '@secvisogram/csaf-validator-lib/mandatoryTests.js' {
  const tests: Record<string, (doc: unknown) => unknown>;
  export = tests;
}
