import Type, { type Static } from 'typebox';
import { named } from './common.schema.js';
import { RoleSchema } from './token.schema.js';

/** Handler accounts and sessions: sign-in for people (issue 20 item 2, ADR 0029). */

export const ACCOUNT_NAME_PATTERN = '^[a-z0-9][a-z0-9._-]{0,62}$';
export const LanguageSchema = named(
  'Language',
  Type.Union([Type.Literal('ja'), Type.Literal('en')], { description: "The console's language for this person." }),
);
export type Language = Static<typeof LanguageSchema>;

const AccountName = Type.String({ pattern: ACCOUNT_NAME_PATTERN, description: 'Lower-case letters, digits, ".", "_" and "-".' });
const DisplayName = Type.String({ minLength: 1, maxLength: 200 });
const Password = Type.String({
  minLength: 12,
  maxLength: 1024,
  description: 'At least 12 characters. Never stored or logged: the node keeps an scrypt hash.',
});

export const SessionCreateSchema = named(
  'SessionCreate',
  Type.Object(
    {
      // Not the name pattern: any string up to the limit is a wrong name, answered like a wrong password.
      account: Type.String({ minLength: 1, maxLength: 200 }),
      password: Type.String({ minLength: 1, maxLength: 1024 }),
      totp: Type.Optional(Type.String({ minLength: 1, maxLength: 20, description: 'The 6-digit code, when the account has TOTP.' })),
    },
    { additionalProperties: false },
  ),
);
export type SessionCreate = Static<typeof SessionCreateSchema>;

export const SessionAccountSchema = named(
  'SessionAccount',
  Type.Object(
    {
      name: Type.String(),
      displayName: Type.String(),
      role: RoleSchema,
      language: LanguageSchema,
      totp: Type.Boolean({ description: 'Whether sign-in asks this person for a TOTP code (the console offers to enrol or remove it).' }),
    },
    { additionalProperties: false },
  ),
);

export const SessionSchema = named(
  'Session',
  Type.Object(
    {
      account: SessionAccountSchema,
      csrfToken: Type.String({ description: 'Send as X-CSRF-Token on POST, PUT, PATCH and DELETE with the session cookie.' }),
      expiresAt: Type.String({
        format: 'date-time',
        description: "The session's absolute end; it ends sooner when idle longer than the node's idle timeout.",
      }),
    },
    { additionalProperties: false },
  ),
);
export type Session = Static<typeof SessionSchema>;

export const SessionPatchSchema = named('SessionPatch', Type.Object({ language: LanguageSchema }, { additionalProperties: false }));

export const PasswordChangeSchema = named(
  'PasswordChange',
  Type.Object(
    {
      currentPassword: Type.String({ minLength: 1, maxLength: 1024, description: 'The password the person signs in with now.' }),
      newPassword: Password,
    },
    { additionalProperties: false },
  ),
);
export type PasswordChange = Static<typeof PasswordChangeSchema>;

export const OwnTotpEnrolSchema = named(
  'OwnTotpEnrol',
  Type.Object(
    {
      currentPassword: Type.String({ minLength: 1, maxLength: 1024 }),
      secret: Type.String({
        pattern: '^[A-Z2-7]{32}$',
        description: 'The secret POST /session/totp-secret proposed (160 bits, base32), as the authenticator app holds it.',
      }),
      code: Type.String({ pattern: '^[0-9]{6}$', description: "The app's current code for that secret: proof it was set up." }),
    },
    { additionalProperties: false },
  ),
);
export type OwnTotpEnrol = Static<typeof OwnTotpEnrolSchema>;

export const OwnTotpRemovalSchema = named(
  'OwnTotpRemoval',
  Type.Object({ currentPassword: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false }),
);

export const AccountSchema = named(
  'Account',
  Type.Object(
    {
      name: Type.String(),
      displayName: Type.String(),
      role: RoleSchema,
      language: LanguageSchema,
      disabled: Type.Boolean(),
      totp: Type.Boolean({ description: 'Whether sign-in asks for a TOTP code.' }),
      createdAt: Type.String({ format: 'date-time' }),
      updatedAt: Type.String({ format: 'date-time' }),
    },
    { additionalProperties: false },
  ),
);
export type Account = Static<typeof AccountSchema>;

export const AccountListSchema = named('AccountList', Type.Object({ items: Type.Array(AccountSchema) }, { additionalProperties: false }));

export const AccountCreateSchema = named(
  'AccountCreate',
  Type.Object(
    {
      name: AccountName,
      displayName: Type.Optional(DisplayName),
      role: RoleSchema,
      language: Type.Optional(LanguageSchema),
      password: Type.Optional(Password),
    },
    { additionalProperties: false },
  ),
);
export type AccountCreate = Static<typeof AccountCreateSchema>;

export const AccountCreatedSchema = named(
  'AccountCreated',
  Type.Object(
    {
      account: AccountSchema,
      password: Type.Optional(Type.String({ description: 'The generated password, when none was given: shown once.' })),
    },
    { additionalProperties: false },
  ),
);

export const AccountPatchSchema = named(
  'AccountPatch',
  Type.Object(
    {
      displayName: Type.Optional(DisplayName),
      role: Type.Optional(RoleSchema),
      language: Type.Optional(LanguageSchema),
      disabled: Type.Optional(Type.Boolean({ description: 'A disabled account signs in no more; its sessions end at once.' })),
      password: Type.Optional(Password),
    },
    { additionalProperties: false, minProperties: 1 },
  ),
);
export type AccountPatch = Static<typeof AccountPatchSchema>;

export const AccountNameParamsSchema = Type.Object(
  { name: Type.String({ pattern: ACCOUNT_NAME_PATTERN }) },
  { additionalProperties: false },
);

export const TotpEnrolmentSchema = named(
  'TotpEnrolment',
  Type.Object(
    {
      uri: Type.String({ description: 'otpauth:// URI for an authenticator app. Shown once; the node does not show it again.' }),
      secret: Type.String({ description: 'The same shared secret, base32, for typing in.' }),
    },
    { additionalProperties: false },
  ),
);
