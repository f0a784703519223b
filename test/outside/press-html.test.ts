import t from 'tap';
import { escapeHtml, renderPressIndexHtml, renderPressStatementHtml, wantsHtml } from '../../src/modules/outside/press-html.js';

/** The press page renders hostile text inert (a statement is typed by a person and may quote anything). */
const hostile = {
  id: '0b5c6f0e-4a0e-4a55-8f6e-1c7a3a0d9b11',
  team: 'alpha"><img src=x onerror=alert(1)>',
  title: '</title><script>alert(1)</script>',
  text: 'Line one\r\n<iframe src="https://evil.example"></iframe>\n& \'quoted\'',
  incidents: ['ALPHA-2026-<b>1</b>'],
  publishedAt: '2026-12-06T10:00:00.000Z',
};

t.test('every value is escaped; nothing can load or run', async (t) => {
  for (const html of [renderPressIndexHtml(hostile.team, [hostile]), renderPressStatementHtml(hostile)]) {
    t.notMatch(html, /<script|<iframe|<img|<b>/i, 'no markup from the statement survives');
    t.match(html, '&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    t.match(html, '&lt;iframe src=&quot;https://evil.example&quot;&gt;&lt;/iframe&gt;');
    t.match(html, '&amp; &#39;quoted&#39;');
    t.notMatch(html, '\r', 'line ends normalised');
  }
  t.equal(escapeHtml(`<>&"'`), '&lt;&gt;&amp;&quot;&#39;');
  t.match(renderPressIndexHtml('alpha', []), 'No statements published.');
});

t.test('only a request that lists text/html first gets the page', async (t) => {
  t.ok(wantsHtml('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'));
  t.ok(wantsHtml('application/xhtml+xml'));
  t.notOk(wantsHtml('application/json'));
  t.notOk(wantsHtml('*/*'));
  t.notOk(wantsHtml(undefined));
  t.notOk(wantsHtml('application/json, text/html'));
});
