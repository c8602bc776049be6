// Drives headless Chromium through the web app's cross-origin calls to the API: the page is served from PAGE_URL,
// the API from API_URL (another origin), and every fetch runs in the page, under the browser's CORS rules. Prints
// what the page could see as JSON; the Go test (internal/httpapi TestCORSInABrowser) judges it.
const { chromium } = require(process.env.PLAYWRIGHT_CORE);

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(process.env.PAGE_URL);
    const seen = await page.evaluate(async ({ api, path, token, account }) => {
      const names = ['WWW-Authenticate', 'ETag', 'Location', 'Retry-After', 'X-Request-Id', 'Idempotent-Replayed',
        'X-Sandbox', 'RateLimit', 'RateLimit-Policy'];
      const call = async (method, url, headers, body) => {
        try {
          const r = await fetch(api + url, { method, headers, body, mode: 'cors' });
          const h = {};
          for (const n of names) h[n] = r.headers.get(n);
          return { status: r.status, headers: h, body: await r.text() };
        } catch (e) {
          return { error: String(e) };
        }
      };
      const auth = { Authorization: 'Bearer ' + token };
      const out = {};
      out.list = await call('GET', path, { ...auth, 'X-Request-Id': 'browser-list-1',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
      const create = { ...auth, 'Content-Type': 'application/json', 'Idempotency-Key': 'browser-key-1',
        'X-Request-Id': 'browser-create-1' };
      const body = JSON.stringify({ accountId: account, notes: 'from a browser' });
      out.create = await call('POST', path, create, body);
      out.replay = await call('POST', path, create, body);
      out.tooSoon = await call('POST', path, { ...auth, 'Content-Type': 'application/json' }, body);
      out.noToken = await call('GET', path, {});
      const location = out.create.headers && out.create.headers.Location;
      if (location) {
        out.get = await call('GET', location, auth);
        const etag = out.get.headers && out.get.headers.ETag;
        out.cancel = await call('DELETE', location, { ...auth, 'If-Match': etag || '*' });
      }
      return out;
    }, { api: process.env.API_URL, path: process.env.INVITES_PATH, token: process.env.TOKEN, account: process.env.ACCOUNT });
    process.stdout.write(JSON.stringify(seen));
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
