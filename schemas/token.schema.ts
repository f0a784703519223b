import Type, { type Static } from 'typebox';
import { named } from './common.schema.js';

export const RoleSchema = named(
  'Role',
  Type.Union([Type.Literal('reader'), Type.Literal('handler'), Type.Literal('admin')], {
    description: 'reader reads; handler also writes incidents and sites; admin also manages the profile and tokens.',
  }),
);

export const TokenCreateSchema = named(
  'TokenCreate',
  Type.Object(
    {
      role: RoleSchema,
      subject: Type.String({ minLength: 1, maxLength: 200, description: 'Who or what the token is for.' }),
      ttl: Type.Optional(
        Type.String({
          pattern: '^\\d{1,7}[smhd]?$',
          description: 'Lifetime, e.g. "30d", "12h"; default 30d, at most 366d.',
        }),
      ),
    },
    { additionalProperties: false },
  ),
);
export type TokenCreate = Static<typeof TokenCreateSchema>;

export const TokenSchema = named(
  'Token',
  Type.Object(
    {
      token: Type.String({ description: 'The bearer token. Shown once; not stored by the node.' }),
      id: Type.String({ format: 'uuid' }),
      role: RoleSchema,
      subject: Type.String(),
      expiresAt: Type.String({ format: 'date-time' }),
    },
    { additionalProperties: false },
  ),
);

export const TokenIdParamsSchema = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
