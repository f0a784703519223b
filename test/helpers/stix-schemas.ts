import { readdirSync, readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

/**
 * The OASIS STIX 2.1 JSON schemas (vendored under test/fixtures/standards/stix2, with their
 * LICENSE and SOURCE.txt), compiled with ajv: `validateStix(object)` checks one object against
 * the schema of its type; the errors, or [] when it validates.
 */
const root = new URL('../fixtures/standards/stix2/schemas/', import.meta.url);
const ajv = new Ajv2020({ strict: false, allErrors: false, unicodeRegExp: false });
const addFormats = addFormatsModule as unknown as (a: Ajv2020) => void;
addFormats(ajv);
// ajv-formats has no IDN formats; the OASIS schemas use it for domain names (checked as plain text here).
ajv.addFormat('idn-hostname', true);
const byType = new Map<string, string>();
for (const dir of ['common', 'observables', 'sdos', 'sros']) {
  for (const file of readdirSync(new URL(`${dir}/`, root))) {
    if (!file.endsWith('.json')) continue;
    const schema = JSON.parse(readFileSync(new URL(`${dir}/${file}`, root), 'utf8')) as { $id: string };
    ajv.addSchema(schema);
    byType.set(file.replace(/\.json$/, ''), schema.$id);
  }
}

export function validateStix(object: { type: string }): string[] {
  const id = byType.get(object.type);
  if (!id) return [`no OASIS schema for type ${object.type}`];
  const validate = ajv.getSchema(id)!;
  if (validate(object)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}
