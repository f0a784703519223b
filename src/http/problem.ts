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
  'not-i-json': {
    status: 400,
    title: 'The JSON text is not I-JSON (RFC 7493): a member name twice, a NUL or a lone surrogate in a string',
  },
  'uri-too-long': { status: 414, title: 'The request URI or one of its path segments is too long' },
  'headers-too-large': { status: 431, title: 'The request headers are too large' },
  // authentication and authorisation
  unauthenticated: { status: 401, title: 'A valid bearer token or session cookie is required' },
  'token-revoked': { status: 401, title: 'The token has been revoked' },
  forbidden: { status: 403, title: 'The token or account does not allow this action' },
  'sign-in-failed': {
    status: 401,
    title: 'The account name, password or TOTP code is wrong, or the account is disabled (one answer for all)',
  },
  'csrf-token-invalid': {
    status: 403,
    title: "With the session cookie, POST, PUT, PATCH and DELETE need the session's X-CSRF-Token header",
  },
  // resources
  'current-password-wrong': {
    status: 403,
    title: "The current password given is not the account's: changing one's own password or TOTP needs it",
  },
  'totp-code-wrong': {
    status: 422,
    title: 'The TOTP code does not match the secret being enrolled now: check the app and the clock, then try again',
  },
  'last-active-admin': {
    status: 409,
    title: 'The change would leave no enabled admin account: make another account admin first',
  },
  'not-found': { status: 404, title: 'No such resource' },
  'route-not-found': { status: 404, title: 'No such route' },
  'method-not-allowed': { status: 405, title: 'Method not allowed on this route' },
  conflict: { status: 409, title: 'The request conflicts with the current state' },
  'version-mismatch': { status: 412, title: 'The resource changed since it was read' },
  'phase-transition-not-allowed': { status: 409, title: 'The incident cannot move to that phase' },
  'legal-hold': { status: 409, title: 'The incident is under legal hold: its personal data cannot be erased' },
  'rate-limited': { status: 429, title: 'Too many requests' },
  // federation: peers and identity
  'peer-unreachable': { status: 502, title: "The peer's node could not be reached or did not serve its profile" },
  'peer-profile-invalid': {
    status: 422,
    title: "The peer's signed profile is malformed or its signature does not verify",
  },
  'fingerprint-mismatch': {
    status: 409,
    title: 'The fingerprint does not match the key pinned or offered for this peer',
  },
  'key-rotation-invalid': { status: 422, title: 'The key rotation cannot be accepted' },
  'peer-key-invalid': {
    status: 422,
    title: 'The OpenPGP key given for a team cannot be pinned: not an armored v4 public key that can sign and encrypt',
  },
  'peer-has-no-node': {
    status: 409,
    title: 'The peer is a team without a node: it has no URL or signed profile, and takes everything by signed e-mail',
  },
  'roster-invalid': { status: 422, title: 'The forum roster cannot be accepted' },
  'roster-stale': { status: 409, title: 'The forum roster is not newer than the one held' },
  'not-a-forum-member': {
    status: 403,
    title: 'The sender is not an active member of that forum in the newest roster held here, or this node is not',
  },
  'unknown-inquiry': { status: 409, title: 'No inquiry of this node was sent to that team under that id' },
  'inquiry-answer-unreadable': {
    status: 422,
    title:
      "A mailed answer to a forum inquiry does not name the inquiry's id in its signed text, or has no line `Answer: seen|not-seen|affected` of its own",
  },
  'peer-not-verified': {
    status: 409,
    title: "The peer's key was not verified out of band: only a key a handler verified can be introduced to other teams",
  },
  'introduction-invalid': {
    status: 422,
    title: 'The introduction cannot be accepted: it introduces the receiver, the sender itself, or a key that is not its fingerprint',
  },
  // federation: exchange (docs/federation-protocol.md lists where each arises)
  'envelope-invalid': { status: 400, title: 'The body is not a signed or sealed federation envelope' },
  'sealed-invalid': { status: 400, title: 'The sealed message cannot be opened by this node' },
  'signature-invalid': { status: 401, title: 'The signature does not verify against the key pinned for the sender' },
  'key-changed': {
    status: 409,
    title: "The sender's key differs from the pinned one; nothing is processed until the peer is re-verified",
  },
  'unknown-sender': { status: 403, title: 'The sender is not a known peer' },
  'peer-suspended': { status: 403, title: 'The sending peer is suspended' },
  'wrong-recipient': { status: 400, title: 'The document is addressed to another team' },
  'stale-or-future': { status: 400, title: "The document's created time is outside the accepted window" },
  'sealing-required': { status: 400, title: 'A document at this TLP must travel sealed' },
  replayed: { status: 409, title: 'The signed request was already used' },
  'unknown-incident': { status: 409, title: 'No incident on this node is linked to that reference number' },
  'unknown-peer': { status: 404, title: 'No peer with that team id' },
  'peer-not-active': { status: 409, title: 'The peer is suspended or its key changed' },
  'already-shared': { status: 409, title: 'The incident is already shared with that peer' },
  'quarantine-mismatch': { status: 409, title: 'The quarantined message does not come from the peer named' },
  // corrections (docs/federation-protocol.md §5.19, §5.20)
  'correction-not-originator': {
    status: 409,
    title: 'Only the originator corrects a report: this incident is a copy received from another team',
  },
  'correction-invalid': { status: 422, title: 'The correction is inconsistent: a relabel needs a label, a retraction a reason' },
  'correction-refused': {
    status: 403,
    title:
      "The correction is not the originator's, does not come along the report's provenance, or loosens a label without the originator's verified signature",
  },
  // formats of neighbouring tools (issue 16): STIX 2.1, TAXII 2.1, MISP, IODEF v2
  'import-invalid': {
    status: 400,
    title: 'The document does not validate against its format: `pointer` names the first failing path; nothing was filed',
  },
  'mail-not-configured': { status: 409, title: 'No outgoing e-mail channel is configured (HIKESHI_SMTP_URL and HIKESHI_MAIL_FROM)' },
  'mail-unavailable': { status: 502, title: 'The mail server could not be reached or did not take the message' },
  'misp-not-configured': { status: 409, title: 'No MISP instance is configured (HIKESHI_MISP_URL and HIKESHI_MISP_KEY)' },
  'misp-unavailable': {
    status: 502,
    title:
      'The MISP instance could not be reached, failed, refused the key, or answered something that is not a MISP answer; nothing was filed',
  },
  'not-acceptable': {
    status: 406,
    title: 'No representation the Accept header allows: TAXII 2.1 serves application/taxii+json;version=2.1',
  },
  // relays and signed provenance (docs/federation-protocol.md §5.18, §5.21, §5.22)
  'provenance-invalid': {
    status: 400,
    title:
      "The report's provenance does not chain: a hop's signature fails, its prev is not the digest of the hop before, or the last hop is not the sender's to us",
  },
  'relay-invalid': {
    status: 400,
    title:
      "The relayed report cannot be accepted: the originator's signature fails, it names another target, or its hops do not start with the originator's",
  },
  'unknown-relay': { status: 409, title: 'No relay of this node went through that team for that message' },
  // sharing policy (docs/trust-model.md)
  'policy-denied': { status: 403, title: 'The sharing policy does not allow this disclosure' },
  // outside recipients: law enforcement and the press (ADR 0023)
  'outside-purpose-mismatch': {
    status: 400,
    title: 'An outside recipient receives only for its own purpose: law-enforcement for an agency, press for the press',
  },
  'law-enforcement-not-approved': {
    status: 409,
    title: 'No handler approved this law-enforcement request: nothing is disclosed without an approval',
  },
  'law-enforcement-request-decided': { status: 409, title: 'The law-enforcement request was already decided' },
  'press-not-clear': {
    status: 422,
    title:
      'A press statement speaks only from TLP:CLEAR content: an incident it names is not CLEAR, or its text names something that is not',
  },
  'press-same-handler': { status: 403, title: 'A press statement must be approved by a handler other than the one who drafted it' },
  'press-statement-state': { status: 409, title: 'The press statement is not in a state that allows this' },
  // coordination (docs/federation-protocol.md §5.8, §5.9)
  'not-a-member': {
    status: 403,
    title: 'The sender is not a member team of this node: activity summaries come from members only',
  },
  'not-our-coordinator': {
    status: 403,
    title: 'The sender does not coordinate this node: related-activity warnings and site notifications come from coordinators only',
  },
  // vendor coordination and CSAF advisories (issue 17, ADR 0024)
  'not-a-case-party': { status: 403, title: 'The vendor is not a party to that vulnerability case' },
  'embargo-in-force': { status: 409, title: 'The case is under embargo: nothing about it is published before `embargoUntil`' },
  'statement-signature-invalid': {
    status: 422,
    title: "The clear-signed statement does not verify with the vendor's pinned key (`reason`: bad-signature, unknown-key or malformed)",
  },
  'csaf-invalid': {
    status: 422,
    title: 'The CSAF document fails the CSAF 2.0 schema or mandatory tests: `errors` lists them; nothing was published',
  },
  // site notifications (issue 19, ADR 0026, ADR 0027)
  'notification-state': {
    status: 409,
    title:
      'The notification is not in a state that allows this (only a draft is edited or approved; only a sent or tried one is acknowledged)',
  },
  'campaign-file-unreadable': {
    status: 400,
    title:
      'The campaign file cannot be read as a whole (no usable CSV header, not JSON, too many rows); malformed single rows are reported instead',
  },
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
