import { en, type MessageKey } from './messages-en';
import { ja } from './messages-ja';

/**
 * Japanese and English, chosen per person: the account's language from the session, changed by
 * the header's switch (PATCH /api/v1/session). Both dictionaries have the same keys (checked by
 * the compiler, and by test/console/console-i18n.test.ts for empty values).
 */
export type Language = 'ja' | 'en';
export type { MessageKey };

const dictionaries: Record<Language, Record<MessageKey, string>> = { en, ja };
let language: Language = navigator.language.toLowerCase().startsWith('ja') ? 'ja' : 'en';

export function currentLanguage(): Language {
  return language;
}

export function setLanguage(next: Language): void {
  language = next;
  document.documentElement.lang = next;
  document.title = t('app.title');
}

/** The message in the current language, with {name} placeholders filled (as text, never markup). */
export function t(key: MessageKey, vars: Record<string, string | number> = {}): string {
  const text = dictionaries[language][key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole: string, name: string) => (name in vars ? String(vars[name]) : whole));
}
