import Type, { type Static } from 'typebox';
import { DateTimeSchema, TlpSchema, UuidSchema, named } from './common.schema.js';
import { CategorySchema, HostSchema, IncidentTypeSchema, IndicatorSchema, SeveritySchema } from './incident.schema.js';

/**
 * Notifications to the constituency's sites on the wire (issue 19, ADR 0026): per incident and
 * site, a first one and any follow-ups, each holding only what concerns that site, with the advice (counter-measures) the
 * handler picked; the POC addresses' keys and bounces; the counter-measure templates.
 */

const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);
const SLUG = '^[a-z0-9][a-z0-9-]{1,62}$';

export const NOTIFICATION_STATES = [
  'drafted',
  'refused',
  'unreachable',
  'approved',
  'sent',
  'delivered',
  'bounced',
  'acknowledged',
  'answered',
] as const;
export type NotificationState = (typeof NOTIFICATION_STATES)[number];
export const NOTIFICATION_LANGUAGES = ['ja', 'en'] as const;
export type NotificationLanguage = (typeof NOTIFICATION_LANGUAGES)[number];

/** How a notification reaches its site (ADR 0026): signed mail to the POC, or the exchange to the site's own node. */
export const NOTIFICATION_CHANNELS = ['email', 'node'] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];

/** Why a site cannot be told by mail: stated, never skipped in silence. */
export const UNREACHABLE_REASONS = ['no-poc-email', 'poc-key-required'] as const;

export const NotificationContentSchema = named(
  'NotificationContent',
  Type.Object(
    {
      ref: Type.String({ description: 'Our reference number: the site quotes it when it answers.' }),
      category: CategorySchema,
      type: nullable(IncidentTypeSchema),
      severity: SeveritySchema,
      tlp: TlpSchema,
      firstSeen: nullable(DateTimeSchema),
      lastSeen: nullable(DateTimeSchema),
      hosts: Type.Array(HostSchema, { description: "The site's own hosts, as the incident records them." }),
      indicators: Type.Array(IndicatorSchema, {
        description:
          "Indicators in the site's scope, and those in no site's scope that the policy lets the site see (attacker infrastructure).",
      }),
      cves: Type.Array(Type.String()),
      callBack: Type.Object(
        { teamId: Type.String(), teamName: Type.String(), email: Type.String() },
        { additionalProperties: false, description: 'Whom the site calls back.' },
      ),
    },
    {
      additionalProperties: false,
      description: 'What the site is told: never the title, summary, reporter, evidence or other sites.',
    },
  ),
);
export type NotificationContent = Static<typeof NotificationContentSchema>;

export const SiteNotificationSchema = named(
  'SiteNotification',
  Type.Object(
    {
      id: UuidSchema,
      incident: Type.Object({ id: UuidSchema, ref: Type.String() }, { additionalProperties: false }),
      site: Type.Object({ id: UuidSchema, name: Type.String() }, { additionalProperties: false }),
      state: Type.Enum(NOTIFICATION_STATES, {
        description:
          'drafted (allowed, waiting for approval), refused (the policy said no: deniedBy), unreachable (reason), approved (queued), sent, delivered, bounced, acknowledged, answered.',
      }),
      reason: nullable(Type.String({ description: 'unreachable: no-poc-email or poc-key-required; refused: policy-denied.' })),
      deniedBy: Type.Array(Type.String()),
      reasons: Type.Array(Type.String(), { description: "The policy's reasons for its decision." }),
      tlp: nullable(TlpSchema),
      poc: nullable(Type.Object({ name: Type.String(), email: Type.String() }, { additionalProperties: false })),
      language: Type.Enum(NOTIFICATION_LANGUAGES),
      counterMeasure: nullable(Type.String()),
      advice: nullable(Type.String({ description: 'The advice text as the handler edited it; null: the template renders it.' })),
      content: nullable(NotificationContentSchema),
      encrypted: nullable(Type.Boolean()),
      messageId: nullable(Type.String()),
      sendUncertain: Type.Boolean({
        description: 'The node stopped while handing the mail over: the mail server may or may not have it (never re-sent by itself).',
      }),
      delivery: nullable(
        Type.Object(
          { attempts: Type.Integer(), nextAttemptAt: nullable(DateTimeSchema), lastError: nullable(Type.String()) },
          { additionalProperties: false },
        ),
      ),
      proposedBy: Type.String(),
      proposedAt: DateTimeSchema,
      approvedBy: nullable(Type.String()),
      approvedAt: nullable(DateTimeSchema),
      sentAt: nullable(DateTimeSchema),
      outcomeAt: nullable(DateTimeSchema),
      outcomeBy: nullable(Type.String()),
      outcomeDetail: nullable(Type.String()),
      updatedAt: DateTimeSchema,
      follows: nullable(
        Type.String({
          format: 'uuid',
          description:
            'A follow-up: the earlier notification to the same site about the same incident that this one follows (the site was told, and is told again: new hosts, new advice). null: the first.',
        }),
      ),
      channel: Type.Enum(NOTIFICATION_CHANNELS, {
        description:
          "email: the signed mail to the site's POC; node: a signed site.notification document to the site's own node (peerTeam) through the exchange. Chosen at approval (ADR 0026).",
      }),
      peerTeam: nullable(Type.String({ description: "node: the team id of the site's node the notification went to." })),
      text: Type.Optional(nullable(Type.String({ description: 'The rendered plain-text body (one notification only).' }))),
    },
    { additionalProperties: false },
  ),
);
export type SiteNotification = Static<typeof SiteNotificationSchema>;

export const SiteNotificationListSchema = named(
  'SiteNotificationList',
  Type.Object({ items: Type.Array(SiteNotificationSchema) }, { additionalProperties: false }),
);

export const NotificationPatchSchema = named(
  'NotificationPatch',
  Type.Object(
    {
      counterMeasure: Type.Optional(Type.String({ pattern: SLUG })),
      advice: Type.Optional(nullable(Type.String({ minLength: 1, maxLength: 20000 }))),
      language: Type.Optional(Type.Enum(NOTIFICATION_LANGUAGES)),
    },
    { additionalProperties: false, minProperties: 1, description: 'advice null: back to the template text.' },
  ),
);
export type NotificationPatch = Static<typeof NotificationPatchSchema>;

export const NotificationAcknowledgeSchema = named(
  'NotificationAcknowledge',
  Type.Object(
    { via: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'How the site acknowledged: phone, fax, in person.' })) },
    { additionalProperties: false },
  ),
);

export const NotificationParamsSchema = Type.Object({ id: UuidSchema }, { additionalProperties: false });

export const CounterMeasureTextsSchema = Type.Object(
  {
    en: Type.Optional(Type.String({ minLength: 1, maxLength: 20000 })),
    ja: Type.Optional(Type.String({ minLength: 1, maxLength: 20000 })),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    description: 'Advice per language; placeholders {{ref}}, {{site}}, {{hosts}}, {{team}}.',
  },
);

export const CounterMeasureSchema = named(
  'CounterMeasure',
  Type.Object(
    {
      id: Type.String(),
      title: Type.String(),
      category: nullable(CategorySchema),
      types: Type.Array(IncidentTypeSchema),
      texts: CounterMeasureTextsSchema,
      source: Type.Enum(['built-in', 'team'] as const, { description: "team: the team's own (it overrides a built-in of the same id)." }),
    },
    { additionalProperties: false },
  ),
);
export type CounterMeasure = Static<typeof CounterMeasureSchema>;

export const CounterMeasureListSchema = named(
  'CounterMeasureList',
  Type.Object({ items: Type.Array(CounterMeasureSchema) }, { additionalProperties: false }),
);

export const CounterMeasurePutSchema = named(
  'CounterMeasurePut',
  Type.Object(
    {
      title: Type.String({ minLength: 1, maxLength: 200 }),
      category: Type.Optional(CategorySchema),
      types: Type.Optional(Type.Array(IncidentTypeSchema, { maxItems: 50 })),
      texts: CounterMeasureTextsSchema,
    },
    { additionalProperties: false },
  ),
);
export type CounterMeasurePut = Static<typeof CounterMeasurePutSchema>;

export const CounterMeasureParamsSchema = Type.Object({ id: Type.String({ pattern: SLUG }) }, { additionalProperties: false });

export const SiteContactSchema = named(
  'SiteContact',
  Type.Object(
    {
      email: Type.String(),
      fingerprint: nullable(Type.String()),
      failing: Type.Boolean({ description: 'Mail to it bounced: the directory entry needs fixing.' }),
      lastBounceReason: nullable(Type.String()),
      lastBounceAt: nullable(DateTimeSchema),
      updatedAt: DateTimeSchema,
    },
    { additionalProperties: false },
  ),
);
export type SiteContact = Static<typeof SiteContactSchema>;

export const SiteContactListSchema = named(
  'SiteContactList',
  Type.Object({ items: Type.Array(SiteContactSchema) }, { additionalProperties: false }),
);

export const SiteContactKeySchema = named(
  'SiteContactKey',
  Type.Object(
    { publicKey: Type.String({ minLength: 1, maxLength: 200000, description: "The POC address owner's armored OpenPGP public key." }) },
    { additionalProperties: false },
  ),
);

export const SiteContactParamsSchema = Type.Object(
  { email: Type.String({ minLength: 3, maxLength: 254, pattern: '^[^\\s@<>]+@[^\\s@<>]+$' }) },
  { additionalProperties: false },
);

export const SiteNodeContactSchema = named(
  'SiteNodeContact',
  Type.Object(
    {
      teamId: Type.String({ description: 'The peer team whose node a site names (Site.teamId).' }),
      failing: Type.Boolean({
        description:
          'The exchange gave up delivering a site.notification to this node (refused, or no answer within the delivery maximum age): the site is not being told. Cleared by the next delivery the node acknowledges.',
      }),
      lastFailureReason: nullable(Type.String()),
      lastFailureAt: nullable(DateTimeSchema),
      updatedAt: DateTimeSchema,
    },
    { additionalProperties: false },
  ),
);
export type SiteNodeContact = Static<typeof SiteNodeContactSchema>;

export const SiteNodeContactListSchema = named(
  'SiteNodeContactList',
  Type.Object({ items: Type.Array(SiteNodeContactSchema) }, { additionalProperties: false }),
);

export const SiteContactListQuerySchema = Type.Object(
  { failing: Type.Optional(Type.Enum(['true', 'false'] as const)) },
  { additionalProperties: false },
);

// ---------------------------------------------------------------------------------------------
// A site's own node (ADR 0026; docs/federation-protocol.md §5.25, §5.26)

const NotificationTextSchema = Type.String({
  minLength: 1,
  maxLength: 100000,
  description: 'The notification as the site reads it: exactly the text the mail would carry (headings, advice, call-back).',
});

export const SiteNotificationBodySchema = named(
  'SiteNotificationBody',
  Type.Object(
    {
      notification: Type.String({ format: 'uuid', description: "The sender's notification id: the answer names it." }),
      ref: Type.String({ minLength: 1, maxLength: 200, description: "The sender's reference number for the incident." }),
      language: Type.Enum(NOTIFICATION_LANGUAGES),
      content: NotificationContentSchema,
      text: NotificationTextSchema,
      follows: nullable(
        Type.String({ format: 'uuid', description: 'A follow-up: the earlier notification (its sender id) this one follows.' }),
      ),
    },
    {
      additionalProperties: false,
      description:
        "site.notification: a coordinator tells a site that runs its own node about the site's own hosts; the same redacted content and text the POC mail would carry, decided by the same policy.",
    },
  ),
);
export type SiteNotificationBody = Static<typeof SiteNotificationBodySchema>;

export const SITE_NOTIFICATION_ANSWER_KINDS = ['acknowledged', 'answered'] as const;

const AnswerTextSchema = Type.String({ minLength: 1, maxLength: 20000, description: "The site's answer, for the sender's handlers." });

export const SiteNotificationAnswerBodySchema = named(
  'SiteNotificationAnswerBody',
  Type.Object(
    {
      notification: Type.String({ format: 'uuid', description: "The sender's notification id, from the site.notification." }),
      kind: Type.Enum(SITE_NOTIFICATION_ANSWER_KINDS, {
        description: 'acknowledged: the site took note; answered: it answers with text.',
      }),
      text: Type.Optional(AnswerTextSchema),
    },
    {
      additionalProperties: false,
      description:
        "site.notification-answer: the site's node acknowledges or answers a site.notification; it moves the sender's notification state and lands in the sender incident's journal.",
    },
  ),
);
export type SiteNotificationAnswerBody = Static<typeof SiteNotificationAnswerBodySchema>;

export const RECEIVED_NOTIFICATION_STATES = ['received', 'acknowledged', 'answered'] as const;

export const ReceivedSiteNotificationSchema = named(
  'ReceivedSiteNotification',
  Type.Object(
    {
      id: UuidSchema,
      from: Type.String({ description: 'The team that sent it (our coordinator).' }),
      messageId: Type.String({ description: 'The id of the signed site.notification document.' }),
      notification: UuidSchema,
      senderRef: Type.String({ description: "The sender's reference number: quote it when calling back." }),
      tlp: TlpSchema,
      language: Type.Enum(NOTIFICATION_LANGUAGES),
      content: NotificationContentSchema,
      text: Type.Optional(Type.String({ description: 'The text the sender wrote for us (one notification only).' })),
      follows: nullable(Type.String({ format: 'uuid' })),
      state: Type.Enum(RECEIVED_NOTIFICATION_STATES, {
        description: 'received, acknowledged (we told the sender we took note), answered.',
      }),
      answeredBy: nullable(Type.String()),
      answeredAt: nullable(DateTimeSchema),
      receivedAt: DateTimeSchema,
    },
    { additionalProperties: false },
  ),
);
export type ReceivedSiteNotification = Static<typeof ReceivedSiteNotificationSchema>;

export const ReceivedSiteNotificationListSchema = named(
  'ReceivedSiteNotificationList',
  Type.Object({ items: Type.Array(ReceivedSiteNotificationSchema) }, { additionalProperties: false }),
);

export const ReceivedSiteNotificationAnswerSchema = named(
  'ReceivedSiteNotificationAnswer',
  Type.Object({ text: AnswerTextSchema }, { additionalProperties: false }),
);
