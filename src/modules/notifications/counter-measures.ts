import type { CounterMeasure, NotificationContent, NotificationLanguage } from '../../../schemas/notification.schema.js';

/**
 * The built-in counter-measure advice (issue 19 part 2, domain §2.2 and §2.4: the CSIRT tells
 * the site what to do), in Japanese and English, keyed by RSIT category and type. A template the
 * team stores with the same id overrides one of these; new ids extend them. Placeholders:
 * {{ref}} (our reference number), {{site}}, {{hosts}} (the site's own hosts, one a line), {{team}}.
 */
type BuiltIn = Omit<CounterMeasure, 'source'>;

export const BUILT_IN_COUNTER_MEASURES: readonly BuiltIn[] = [
  {
    id: 'system-compromise',
    title: 'Compromised host',
    category: 'intrusions',
    types: ['system-compromise', 'privileged-account-compromise', 'unprivileged-account-compromise', 'application-compromise'],
    texts: {
      en: [
        'One or more of your hosts appear to have been compromised:',
        '{{hosts}}',
        '',
        '1. Isolate the hosts from the network, but do not switch them off: memory and disks are evidence.',
        '2. Preserve logs (system, authentication, web, firewall) and note their time zone.',
        '3. Reinstall from known-good media; do not trust a cleaned system.',
        '4. Change every password and key used on or stored on the hosts.',
        '5. Apply the missing patches before reconnecting.',
        'Please quote {{ref}} when you contact {{team}}.',
      ].join('\n'),
      ja: [
        '貴組織の以下のホストが侵害された可能性があります。',
        '{{hosts}}',
        '',
        '1. ホストをネットワークから切り離してください（電源は切らないでください。メモリとディスクは証拠になります）。',
        '2. ログ（システム、認証、Web、ファイアウォール）を保全し、タイムゾーンを記録してください。',
        '3. 信頼できる媒体から再インストールしてください。',
        '4. ホスト上で使用・保存されていたパスワードと鍵をすべて変更してください。',
        '5. 再接続の前に未適用のパッチを適用してください。',
        '{{team}} へのご連絡の際は {{ref}} をお知らせください。',
      ].join('\n'),
    },
  },
  {
    id: 'ddos-amplifier',
    title: 'Open resolver / amplifier',
    category: 'vulnerable',
    types: ['ddos-amplifier'],
    texts: {
      en: [
        'The following hosts answer queries from anywhere and are being used to amplify denial-of-service attacks:',
        '{{hosts}}',
        '',
        'Restrict the service (DNS recursion, NTP monlist, SSDP, memcached, CLDAP...) to your own networks,',
        'or switch it off if it is not needed. Apply BCP 38 source address filtering at your border.',
        'Reference: {{ref}} ({{team}}).',
      ].join('\n'),
      ja: [
        '以下のホストは外部からの問い合わせに応答しており、DoS 攻撃の踏み台（増幅器）として利用されています。',
        '{{hosts}}',
        '',
        'サービス（DNS 再帰問い合わせ、NTP monlist、SSDP、memcached、CLDAP など）を自組織のネットワークからのみに制限するか、',
        '不要であれば停止してください。境界で BCP 38 の送信元アドレスフィルタリングを行ってください。',
        '参照番号: {{ref}}（{{team}}）',
      ].join('\n'),
    },
  },
  {
    id: 'brute-force',
    title: 'Brute-force login attempts',
    category: 'intrusion-attempts',
    types: ['brute-force'],
    texts: {
      en: [
        'Password-guessing attempts were seen from or against the following hosts:',
        '{{hosts}}',
        '',
        'If the host is the source: it is probably compromised; check it for unknown processes and accounts.',
        'If the host is the target: enforce strong passwords or keys, limit the service to known networks,',
        'and check the logs for a successful login. Reference: {{ref}} ({{team}}).',
      ].join('\n'),
      ja: [
        '以下のホストに関連してパスワード推測攻撃が観測されました。',
        '{{hosts}}',
        '',
        '送信元の場合: 侵害されている可能性があります。不審なプロセスやアカウントを確認してください。',
        '攻撃先の場合: 強固なパスワードまたは鍵認証を使用し、サービスへの接続元を制限し、ログイン成功の痕跡がないかログを確認してください。',
        '参照番号: {{ref}}（{{team}}）',
      ].join('\n'),
    },
  },
  {
    id: 'infected-system',
    title: 'Botnet member / infected system',
    category: 'malicious-code',
    types: ['infected-system'],
    texts: {
      en: [
        'The following hosts appear to be infected with malware and to take part in a botnet:',
        '{{hosts}}',
        '',
        'Identify the machine behind each address and time (NAT, DHCP logs), disconnect it, clean or reinstall it,',
        'and change the credentials used on it. Reference: {{ref}} ({{team}}).',
      ].join('\n'),
      ja: [
        '以下のホストはマルウェアに感染し、ボットネットの一部として動作している可能性があります。',
        '{{hosts}}',
        '',
        'アドレスと時刻から該当する機器を特定し（NAT、DHCP のログ）、切り離して駆除または再インストールし、使用されていた認証情報を変更してください。',
        '参照番号: {{ref}}（{{team}}）',
      ].join('\n'),
    },
  },
  {
    id: 'scanner',
    title: 'Scanning',
    category: 'information-gathering',
    types: ['scanner'],
    texts: {
      en: [
        'Scanning was seen from the following hosts:',
        '{{hosts}}',
        '',
        'If you did not authorise it, the host may be compromised or misused: please check it.',
        'Reference: {{ref}} ({{team}}).',
      ].join('\n'),
      ja: [
        '以下のホストからスキャンが観測されました。',
        '{{hosts}}',
        '',
        '許可したものでなければ、ホストが侵害または悪用されている可能性があります。確認をお願いします。',
        '参照番号: {{ref}}（{{team}}）',
      ].join('\n'),
    },
  },
  {
    id: 'phishing',
    title: 'Phishing site',
    category: 'fraud',
    types: ['phishing', 'masquerade'],
    texts: {
      en: [
        'A phishing site appears to be hosted on the following hosts:',
        '{{hosts}}',
        '',
        'Please remove the content, preserve the files and access logs, and find how it was placed there',
        '(a weak password, an unpatched web application). Reference: {{ref}} ({{team}}).',
      ].join('\n'),
      ja: [
        '以下のホストでフィッシングサイトが公開されている可能性があります。',
        '{{hosts}}',
        '',
        'コンテンツを削除し、ファイルとアクセスログを保全したうえで、設置された経路（脆弱なパスワード、未更新の Web アプリケーションなど）を調査してください。',
        '参照番号: {{ref}}（{{team}}）',
      ].join('\n'),
    },
  },
  {
    id: 'vulnerable-system',
    title: 'Vulnerable system',
    category: 'vulnerable',
    types: ['vulnerable-system', 'weak-crypto', 'potentially-unwanted-accessible', 'information-disclosure'],
    texts: {
      en: [
        'The following hosts run a service with a known vulnerability or expose a service that should not be reachable:',
        '{{hosts}}',
        '',
        'Apply the vendor fix, or restrict access to the service until you can. Reference: {{ref}} ({{team}}).',
      ].join('\n'),
      ja: [
        '以下のホストで既知の脆弱性のあるサービス、または公開すべきでないサービスが稼働しています。',
        '{{hosts}}',
        '',
        'ベンダーの修正を適用するか、適用できるまでサービスへのアクセスを制限してください。参照番号: {{ref}}（{{team}}）',
      ].join('\n'),
    },
  },
  {
    id: 'generic',
    title: 'General advice',
    category: null,
    types: [],
    texts: {
      en: [
        'Activity involving the following hosts of yours was reported to us:',
        '{{hosts}}',
        '',
        'Please check them, preserve their logs, and tell us what you find. Reference: {{ref}} ({{team}}).',
      ].join('\n'),
      ja: [
        '貴組織の以下のホストに関連する事象が報告されました。',
        '{{hosts}}',
        '',
        'ホストを確認し、ログを保全のうえ、結果をお知らせください。参照番号: {{ref}}（{{team}}）',
      ].join('\n'),
    },
  },
];

/** The template for an incident's category and type: one for its type first, then its category, then the generic one. */
export function pickCounterMeasure(all: readonly CounterMeasure[], category: string, type: string | null): CounterMeasure {
  const byType = type ? all.find((c) => c.types.includes(type as never)) : undefined;
  const byCategory = all.find((c) => c.category === category && c.types.length === 0);
  return byType ?? byCategory ?? all.find((c) => c.id === 'generic') ?? all[all.length - 1]!;
}

/** The site's hosts as the advice lists them: one a line. */
export function hostLines(content: NotificationContent): string {
  if (content.hosts.length === 0) return '  -';
  return content.hosts
    .map((h) => `  - ${[h.ip, h.hostname].filter(Boolean).join(' ')} (${h.role}${h.ports?.length ? `, ports ${h.ports.join(',')}` : ''})`)
    .join('\n');
}

/** A template's text in a language (the other one when it has only that), placeholders filled in. */
export function fillAdvice(
  template: Pick<CounterMeasure, 'texts'>,
  language: NotificationLanguage,
  values: { ref: string; site: string; team: string; hosts: string },
): string {
  const text = template.texts[language] ?? template.texts.en ?? template.texts.ja ?? '';
  return text.replace(/\{\{(ref|site|team|hosts)\}\}/g, (_, name: keyof typeof values) => values[name]);
}
