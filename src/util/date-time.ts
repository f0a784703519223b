/**
 * The one rule for a date-time on the wire (docs/errors.md, "Hostile input"): RFC 3339's
 * `date-time` production, with
 * - a year from 0001 to 9999 (PostgreSQL has no year 0, and a JavaScript Date writes years after
 *   9999 in a form RFC 3339 does not have);
 * - a real calendar day (no 31 April, 29 February only in leap years);
 * - seconds 00 to 59: a leap second (`23:59:60Z`) is refused with 400, since neither a JavaScript
 *   Date nor PostgreSQL's timestamptz can hold it as written and each would move it to the next
 *   minute silently;
 * - an offset `Z` or `±hh:mm` with hh < 24 (RFC 9557 suffixes such as `[Asia/Tokyo]` are not
 *   RFC 3339 and are refused).
 * Fractions of a second of any length are accepted; the node keeps milliseconds.
 */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

function daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

export function isRfc3339DateTime(value: string): boolean {
  const m = RFC3339.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return false;
  if (hour > 23 || minute > 59 || second > 59) return false;
  if (m[7] !== undefined && (Number(m[8]) > 23 || Number(m[9]) > 59)) return false;
  // An offset can move 0001-01-01T00:00+01:00 into year 0: the instant must be in range too.
  const instant = new Date(value);
  if (Number.isNaN(instant.getTime())) return false;
  const utcYear = instant.getUTCFullYear();
  return utcYear >= 1 && utcYear <= 9999;
}
