/**
 * A jsonb statement parameter given as JSON text: `sql\`${jsonbParameter(text)}::jsonb\``.
 *
 * Each engine gets it in its cheapest form. node-postgres sends it as text (it calls
 * `toPostgres`). The embedded engine gets jsonb's binary form, a version byte and the UTF-8 text
 * (database.ts gives PGlite a jsonb serializer that makes it): PGlite walks a text parameter in
 * JavaScript, twice, to measure it before encoding it, which for the inbox's one parameter for a
 * group of reports (about 100 KB) is a cost a byte array does not have (ADR 0010). Only for a
 * parameter cast to jsonb.
 */
export class JsonbParameter {
  constructor(readonly text: string) {}

  toPostgres(): string {
    return this.text;
  }

  /** jsonb_send's format: version 1, then the text. */
  binary(): Uint8Array {
    const bytes = Buffer.allocUnsafe(1 + Buffer.byteLength(this.text, 'utf8'));
    bytes[0] = 1;
    bytes.write(this.text, 1, 'utf8');
    return bytes;
  }
}

export function jsonbParameter(text: string): JsonbParameter {
  return new JsonbParameter(text);
}
