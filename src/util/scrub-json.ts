/** A function that removes identifiers from a text, saying whether it found any (an erasure's scrub). */
export type Scrub = (text: string) => { text: string; erased: boolean };

/** The value with `scrub` applied to every string, member names included; `erased` when any changed. */
export function scrubJson(value: unknown, scrub: Scrub): { value: unknown; erased: boolean } {
  let erased = false;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const r = scrub(v);
      if (r.erased) erased = true;
      return r.text;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [walk(k) as string, walk(x)]));
    }
    return v;
  };
  return { value: walk(value), erased };
}
