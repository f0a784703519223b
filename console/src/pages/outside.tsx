import { t } from '../i18n';
import { LawEnforcementSection } from './law-enforcement';
import { PressSection } from './press';

/** Records about disclosures outside the federation: law-enforcement requests and press statements. */
export function OutsidePage({ canWrite }: { canWrite: boolean }) {
  return (
    <section>
      <h1>{t('outside.title')}</h1>
      <LawEnforcementSection canWrite={canWrite} />
      <PressSection canWrite={canWrite} />
    </section>
  );
}
