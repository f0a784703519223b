/**
 * RFC 9457 problem details. Every error a client can see has a stable code from this catalogue;
 * the code is the last segment of the problem `type` URI and is repeated as the `code` member,
 * so clients switch on it without parsing titles. docs/errors.md lists the same catalogue and a
 * test keeps the two in step.
 */
export const PROBLEMS = {
  // request shape
  'malformed-json': { status: 400, title: 'The request body is not valid JSON' },
  'validation-failed': { status: 400, title: 'The request does not match the schema' },
  'body-too-large': { status: 413, title: 'The request body exceeds the configured limit' },
  'unsupported-media-type': { status: 415, title: 'The request body media type is not supported' },
  'bad-request': { status: 400, title: 'The request cannot be processed' },
  // authentication and authorisation
  unauthenticated: { status: 401, title: 'A valid bearer token is required' },
  'token-revoked': { status: 401, title: 'The token has been revoked' },
  forbidden: { status: 403, title: 'The token does not allow this action' },
  // resources
  'not-found': { status: 404, title: 'No such resource' },
  'route-not-found': { status: 404, title: 'No such route' },
  'method-not-allowed': { status: 405, title: 'Method not allowed on this route' },
  conflict: { status: 409, title: 'The request conflicts with the current state' },
  'version-mismatch': { status: 412, title: 'The resource changed since it was read' },
  'phase-transition-not-allowed': { status: 409, title: 'The incident cannot move to that phase' },
  'rate-limited': { status: 429, title: 'Too many requests' },
  // server
  'internal-error': { status: 500, title: 'Internal server error' },
  'service-unavailable': { status: 503, title: 'The service is not ready' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEMS;

export const PROBLEM_TYPE_BASE = 'urn:hikeshi:problem:';
export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  instance?: string;
  [extension: string]: unknown;
}

/** Thrown by services and routes; the error handler turns it into problem+json. */
export class ProblemError extends Error {
  override name = 'ProblemError';
  readonly status: number;
  constructor(
    readonly code: ProblemCode,
    readonly detail?: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail ?? PROBLEMS[code].title);
    this.status = PROBLEMS[code].status;
  }
}

export function problemBody(code: ProblemCode, detail?: string, extensions: Record<string, unknown> = {}): ProblemBody {
  const { status, title } = PROBLEMS[code];
  return {
    type: PROBLEM_TYPE_BASE + code,
    title,
    status,
    code,
    ...(detail ? { detail } : {}),
    ...extensions,
  };
}
