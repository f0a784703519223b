import t from 'tap';
import { buildTestNode } from '../helpers/build-test-app.js';
import { ensureConsoleBuilt } from '../helpers/console-browser.js';

/**
 * /console without a browser (issue 20, ADR 0030): the page and its two files, each with the
 * strict Content-Security-Policy and the other security headers; nothing else under /console.
 */
await ensureConsoleBuilt();
const node = await buildTestNode(t);

t.test('the page, its script and its style, with the security headers', async (t) => {
  for (const [url, type] of [
    ['/console', 'text/html'],
    ['/console/', 'text/html'],
    ['/console/app.js', 'text/javascript'],
    ['/console/app.css', 'text/css'],
  ] as const) {
    const res = await node.app.inject({ method: 'GET', url });
    t.equal(res.statusCode, 200, url);
    t.match(res.headers['content-type'], type, url);
    t.equal(
      res.headers['content-security-policy'],
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'; object-src 'none'",
      url,
    );
    t.equal(res.headers['x-content-type-options'], 'nosniff', url);
    t.equal(res.headers['referrer-policy'], 'no-referrer', url);
  }
  const page = await node.app.inject({ method: 'GET', url: '/console/' });
  t.notMatch(page.body, /<script>|<style>|\sstyle=|\son\w+=/i, 'no inline script, style or handler in the page');
  t.match(page.body, /<script type="module" src="\/console\/app\.js\?v=[0-9a-f]{16}"><\/script>/);
  t.equal(page.headers['cache-control'], 'no-cache', 'the page is always fresh; the files it names are content-hashed');
});

t.test('nothing else is served under /console', async (t) => {
  for (const url of ['/console/index.js', '/console/..%2F..%2Fpackage.json', '/console/app.js.map', '/console/%2e%2e', '/console/a/b']) {
    const res = await node.app.inject({ method: 'GET', url });
    t.equal(res.statusCode, 404, url);
    t.match(res.headers['content-type'], /application\/problem\+json/, url);
  }
  const post = await node.app.inject({ method: 'POST', url: '/console/', payload: {} });
  t.ok(post.statusCode === 404 || post.statusCode === 405, `POST ${post.statusCode}`);
});

t.test('the console is not part of the API document', async (t) => {
  const res = await node.app.inject({ method: 'GET', url: '/docs/json' });
  t.equal(res.statusCode, 200);
  t.notOk(Object.keys(res.json().paths).some((p: string) => p.startsWith('/console')));
});
