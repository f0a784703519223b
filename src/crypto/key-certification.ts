import { InvalidKeyError } from './crypto-errors.js';
import { openpgpKeyOf, type PeerKey } from './peer-key.js';

/**
 * Whether `certifier`'s primary key certified a user ID of `subject` with a signature that is
 * valid now (what `gpg --local-user <old> --sign-key <new>` makes, the usual way a person moves
 * to a new OpenPGP key and vouches for it with the old one). Self-signatures and certifications
 * by any other key count for nothing.
 */
export async function isCertifiedBy(subject: PeerKey, certifier: PeerKey, date = new Date()): Promise<boolean> {
  const key = openpgpKeyOf(subject);
  const by = openpgpKeyOf(certifier);
  for (const user of key.users) {
    if (!user.userID || user.otherCertifications.length === 0) continue;
    try {
      const results = await user.verifyAllCertifications([by], date);
      if (results.some((r) => r.valid === true)) return true;
    } catch (err) {
      // A malformed certification proves nothing; anything else is a defect to see.
      if (!(err instanceof Error)) throw new InvalidKeyError('certification check failed');
    }
  }
  return false;
}
