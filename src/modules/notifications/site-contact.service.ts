import type { Clock } from '../../clock.js';
import type { Db } from '../../db/database.js';
import { InvalidKeyError, readPeerKey } from '../../crypto/index.js';
import { ProblemError } from '../../http/problem.js';
import type { SiteContact, SiteNodeContact } from '../../../schemas/notification.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import { findContact, listContacts, listNodeContacts, setContactKey, type ContactRow } from './site-contact.repository.js';

/**
 * The sites' POC e-mail addresses as the node knows them (issue 19 part 3): the OpenPGP key a
 * notification that must travel encrypted is sealed to, and whether mail to the address bounces
 * (the directory shows the contacts that need fixing, domain §7 threat 4).
 */
export interface SiteContactService {
  list(failingOnly: boolean): Promise<SiteContact[]>;
  /** The site nodes notifications go to, failing when the exchange gave one up (migration 0041). */
  listNodes(failingOnly: boolean): Promise<SiteNodeContact[]>;
  /** Pins a POC address's public key (admin; parsed by src/crypto; a key that cannot encrypt is refused). */
  setKey(email: string, armored: string, actor: string): Promise<SiteContact>;
}

const view = ({ publicKey: _key, ...contact }: ContactRow): SiteContact => contact;

export function createSiteContactService(deps: { db: Db; clock: Clock; audit: AuditLog }): SiteContactService {
  const { db, clock, audit } = deps;
  return {
    async list(failingOnly) {
      return (await listContacts(db, failingOnly)).map(view);
    },
    listNodes: (failingOnly) => listNodeContacts(db, failingOnly),
    async setKey(email, armored, actor) {
      let fingerprint: string;
      try {
        fingerprint = (await readPeerKey(armored)).fingerprint;
      } catch (err) {
        if (!(err instanceof InvalidKeyError)) throw err;
        throw new ProblemError('validation-failed', `publicKey is not a usable OpenPGP key: ${err.message}`, {
          errors: [{ location: 'body', pointer: '/publicKey', message: err.message }],
        });
      }
      await setContactKey(db, email, { armored, fingerprint }, actor, clock());
      await audit.append(db, { kind: 'site-contact.key-set', actor, details: { email: email.toLowerCase(), fingerprint } });
      return view((await findContact(db, email))!);
    },
  };
}
