import { badCharacterIn } from '../../util/i-json.js';
import { canonicalDomain, parseAddress } from '../sites/sites.module.js';

/**
 * The events of a campaign feed (issue 19 part 4): a scan or botnet list of many addresses, as
 * CSV (with a header row), a JSON array (or `{ "events": [...] }`) or JSON lines. Column names
 * are matched case-insensitively and include IntelMQ's field names (`source.ip`, `time.source`,
 * `source.asn`, `source.port`, `protocol.transport`, `source.fqdn`), so an IntelMQ CSV or JSON
 * output file is read as it is.
 *
 * Parsing is pure and total: a malformed row is reported with its number and the reason, and
 * every other row is kept. Nothing here knows about sites or the database.
 */
export interface CampaignEvent {
  /** 1-based row number in the file (the data row, not counting a CSV header). */
  row: number;
  /** Canonical address text (what PostgreSQL prints), with its family. */
  address: { text: string; family: 4 | 6 } | null;
  hostname: string | null;
  asn: number | null;
  port: number | null;
  protocol: string | null;
  /** When the event was seen (ISO 8601, UTC); null when the row does not say. */
  time: string | null;
  /** A short free text (e.g. the malware family, the open service). */
  detail: string | null;
}

export interface RejectedRow {
  row: number;
  reason: string;
}

export type CampaignFormat = 'csv' | 'json' | 'ndjson';

export interface ParsedCampaign {
  events: CampaignEvent[];
  rejected: RejectedRow[];
}

/** A file larger than this many data rows is refused as a whole (split it). */
export const MAX_CAMPAIGN_ROWS = 1_000_000;
const MAX_DETAIL = 500;
const MAX_PROTOCOL = 32;

const FIELD_ALIASES: Record<keyof Omit<CampaignEvent, 'row'>, readonly string[]> = {
  address: ['ip', 'address', 'addr', 'source.ip', 'src_ip', 'source_ip', 'ip_address'],
  hostname: ['hostname', 'host', 'fqdn', 'domain', 'source.fqdn', 'source.reverse_dns'],
  asn: ['asn', 'source.asn', 'as'],
  port: ['port', 'source.port', 'src_port', 'dst_port', 'destination.port'],
  protocol: ['protocol', 'protocol.transport', 'transport', 'proto'],
  time: ['time', 'timestamp', 'time.source', 'seen', 'first_seen', 'date'],
  detail: ['detail', 'description', 'comment', 'malware', 'malware.name', 'classification.identifier', 'event_description.text'],
};

const FIELD_OF = new Map<string, keyof Omit<CampaignEvent, 'row'>>(
  Object.entries(FIELD_ALIASES).flatMap(([field, names]) => names.map((n) => [n, field as keyof Omit<CampaignEvent, 'row'>] as const)),
);

class RowError extends Error {}

function text(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') throw new RowError('a value is not text or a number');
  // PostgreSQL text cannot hold NUL, and a lone surrogate is not Unicode: the row, not the run, is refused.
  const bad = badCharacterIn(value);
  if (bad) throw new RowError(bad === 'nul' ? 'a value holds a NUL character' : 'a value holds a lone surrogate');
  const t = value.trim();
  return t === '' ? null : t;
}

function integer(value: string | null, what: string, max: number, prefix?: RegExp): number | null {
  if (value === null) return null;
  const digits = prefix ? value.replace(prefix, '') : value;
  if (!/^[0-9]{1,10}$/.test(digits)) throw new RowError(`${what} "${value.slice(0, 40)}" is not a number`);
  const n = Number(digits);
  if (n > max) throw new RowError(`${what} ${n} is out of range`);
  return n;
}

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/** One event from a record whose keys are already the canonical field names. */
function toEvent(row: number, fields: Partial<Record<keyof Omit<CampaignEvent, 'row'>, unknown>>): CampaignEvent {
  const addressText = text(fields.address);
  const parsed = addressText ? parseAddress(addressText) : null;
  if (addressText && !parsed) throw new RowError(`"${addressText.slice(0, 60)}" is not an IP address`);
  const hostText = text(fields.hostname);
  const hostname = hostText ? canonicalDomain(hostText) : null;
  if (hostname && !HOSTNAME.test(hostname)) throw new RowError(`"${hostText!.slice(0, 60)}" is not a host name`);
  const asn = integer(text(fields.asn), 'the AS number', 4294967295, /^AS/i);
  const port = integer(text(fields.port), 'the port', 65535);
  const protocol = text(fields.protocol);
  if (protocol && (protocol.length > MAX_PROTOCOL || !/^[A-Za-z0-9._+-]+$/.test(protocol)))
    throw new RowError('the protocol is not a short token (tcp, udp, ...)');
  const timeText = text(fields.time);
  let time: string | null = null;
  if (timeText) {
    const ms = Date.parse(timeText);
    if (Number.isNaN(ms)) throw new RowError(`"${timeText.slice(0, 40)}" is not a date and time`);
    // What an incident's firstSeen/lastSeen can hold (RFC 3339: four-digit years).
    if (ms < Date.UTC(1970, 0, 1) || ms >= Date.UTC(10000, 0, 1)) throw new RowError(`"${timeText.slice(0, 40)}" is out of range`);
    time = new Date(ms).toISOString();
  }
  const detail = text(fields.detail);
  if (!parsed && !hostname && asn === null) throw new RowError('no address, host name or AS number');
  return {
    row,
    address: parsed ? { text: parsed.address, family: parsed.family } : null,
    hostname,
    asn,
    port,
    protocol: protocol ? protocol.toLowerCase() : null,
    time,
    detail: detail ? detail.slice(0, MAX_DETAIL) : null,
  };
}

/** RFC 4180 records: quoted fields, doubled quotes, CRLF or LF line ends, a quoted field may span lines. */
export function* csvRecords(input: string): Generator<{ line: number; fields: string[] }> {
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let startLine = 1;
  let any = false;
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (quoted) {
      if (c === '"') {
        if (input[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '"' && field === '') {
      quoted = true;
      any = true;
    } else if (c === ',') {
      fields.push(field);
      field = '';
      any = true;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && input[i + 1] === '\n') i++;
      if (any || field !== '') yield { line: startLine, fields: [...fields, field] };
      fields = [];
      field = '';
      any = false;
      line++;
      startLine = line;
    } else {
      field += c;
      any = true;
    }
  }
  if (any || field !== '') yield { line: startLine, fields: [...fields, field] };
}

function parseCsv(input: string, out: ParsedCampaign): void {
  const records = csvRecords(input.charCodeAt(0) === 0xfeff ? input.slice(1) : input);
  const header = records.next();
  if (header.done) return;
  const columns = header.value.fields.map((name) => FIELD_OF.get(name.trim().toLowerCase()) ?? null);
  if (!columns.some((c) => c === 'address' || c === 'hostname' || c === 'asn'))
    throw new CampaignFileError(
      'the CSV header names no address, host name or AS number column (e.g. "ip", "source.ip", "hostname", "asn")',
    );
  let row = 0;
  for (const record of records) {
    row++;
    if (row > MAX_CAMPAIGN_ROWS) throw new CampaignFileError(`more than ${MAX_CAMPAIGN_ROWS} rows: split the file`);
    if (record.fields.length !== columns.length) {
      out.rejected.push({ row, reason: `${record.fields.length} fields where the header has ${columns.length}` });
      continue;
    }
    const fields: Partial<Record<keyof Omit<CampaignEvent, 'row'>, unknown>> = {};
    columns.forEach((c, i) => {
      if (c && fields[c] === undefined) fields[c] = record.fields[i];
    });
    accept(row, fields, out);
  }
}

function accept(row: number, fields: Partial<Record<keyof Omit<CampaignEvent, 'row'>, unknown>>, out: ParsedCampaign): void {
  try {
    out.events.push(toEvent(row, fields));
  } catch (err) {
    if (!(err instanceof RowError)) throw err;
    out.rejected.push({ row, reason: err.message });
  }
}

/** A JSON object's fields under their canonical names (nested IntelMQ-style objects are flattened: {"source": {"ip": ...}}). */
function objectFields(value: unknown): Partial<Record<keyof Omit<CampaignEvent, 'row'>, unknown>> | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const fields: Partial<Record<keyof Omit<CampaignEvent, 'row'>, unknown>> = {};
  const visit = (obj: Record<string, unknown>, prefix: string, depth: number) => {
    for (const [key, v] of Object.entries(obj)) {
      const name = `${prefix}${key.toLowerCase()}`;
      if (typeof v === 'object' && v !== null && !Array.isArray(v) && depth < 2) visit(v as Record<string, unknown>, `${name}.`, depth + 1);
      else {
        const field = FIELD_OF.get(name);
        if (field && fields[field] === undefined) fields[field] = v;
      }
    }
  };
  visit(value as Record<string, unknown>, '', 0);
  return fields;
}

function parseJsonRows(rows: unknown[], out: ParsedCampaign): void {
  if (rows.length > MAX_CAMPAIGN_ROWS) throw new CampaignFileError(`more than ${MAX_CAMPAIGN_ROWS} rows: split the file`);
  rows.forEach((value, i) => {
    const fields = objectFields(value);
    if (!fields) out.rejected.push({ row: i + 1, reason: 'not a JSON object' });
    else accept(i + 1, fields, out);
  });
}

/** The file as a whole cannot be read (no usable header, not JSON, too many rows): a 400. */
export class CampaignFileError extends Error {
  override name = 'CampaignFileError';
}

export function parseCampaignEvents(input: string, format: CampaignFormat): ParsedCampaign {
  const out: ParsedCampaign = { events: [], rejected: [] };
  if (format === 'csv') {
    parseCsv(input, out);
    return out;
  }
  if (format === 'ndjson') {
    let row = 0;
    for (const line of input.split(/\r?\n/)) {
      if (line.trim() === '') continue;
      row++;
      if (row > MAX_CAMPAIGN_ROWS) throw new CampaignFileError(`more than ${MAX_CAMPAIGN_ROWS} rows: split the file`);
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        out.rejected.push({ row, reason: 'not valid JSON' });
        continue;
      }
      const fields = objectFields(value);
      if (!fields) out.rejected.push({ row, reason: 'not a JSON object' });
      else accept(row, fields, out);
    }
    return out;
  }
  let document: unknown;
  try {
    document = JSON.parse(input);
  } catch {
    throw new CampaignFileError('the file is not valid JSON');
  }
  const rows = Array.isArray(document) ? document : (document as { events?: unknown } | null)?.events;
  if (!Array.isArray(rows)) throw new CampaignFileError('a JSON campaign is an array of events or { "events": [...] }');
  parseJsonRows(rows, out);
  return out;
}
