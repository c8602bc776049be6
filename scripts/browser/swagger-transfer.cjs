// Walks a billing transfer end to end in Swagger UI, the way a person would: Authorize with the token, then for each
// step expand the operation, Try it out, fill its parameters and body, Execute, and read the answer Swagger UI shows.
// API_URL serves the API and /docs/; PROFILE is the billing profile; ACCOUNT a management account with members.
// Prints {step: {status, body}} as JSON; the Go test (internal/httpapi TestSwaggerUITransferWalk) judges it.
const { chromium } = require(process.env.PLAYWRIGHT_CORE);

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(process.env.API_URL + '/docs/');
    await page.waitForSelector('.opblock', { timeout: 30000 });

    await page.click('.btn.authorize');
    await page.fill('#auth-bearer-value', process.env.TOKEN);
    await page.click('.auth-btn-wrapper .authorize');
    await page.click('.auth-btn-wrapper .btn-done');

    // tryIt runs one operation (its Swagger UI block is #operations-<tag>-<operationId>) and returns what the
    // live response table shows.
    const tryIt = async (op, params, body) => {
      const block = page.locator('#operations-' + op);
      if (!(await block.locator('.opblock-body').count())) await block.locator('.opblock-summary').first().click();
      const tryButton = block.locator('.try-out__btn');
      if ((await tryButton.innerText()).trim() === 'Try it out') await tryButton.click();
      for (const [name, value] of Object.entries(params)) {
        await block.locator(`tr[data-param-name="${name}"] input`).first().fill(value);
      }
      if (body !== undefined) await block.locator('textarea.body-param__text').fill(body);
      const clear = block.locator('.btn-clear');
      if (await clear.count()) await clear.click();
      await block.locator('.execute').click();
      const status = block.locator('.live-responses-table tbody .response-col_status').first();
      await status.waitFor({ timeout: 30000 });
      const text = await block.locator('.live-responses-table tbody .response-col_description pre').first().innerText();
      return { status: Number((await status.innerText()).trim()), body: text };
    };

    const profile = { billingProfileId: process.env.PROFILE };
    const out = {};
    out.create = await tryIt('invites-createInvite', profile,
      JSON.stringify({ accountId: process.env.ACCOUNT, kind: 'billing_transfer', transferName: 'from Swagger UI' }));
    let id = '';
    let startAt = NaN;
    try {
      const created = JSON.parse(out.create.body);
      id = created.id;
      startAt = Date.parse(created.transfer.startAt);
    } catch (e) { /* the Go test reports the body */ }
    if (id && !Number.isNaN(startAt)) {
      const invite = { ...profile, inviteId: id };
      out.accept = await tryIt('sandbox-sandboxAcceptInvite', invite);
      // Just after the transfer's start (an hour), whatever day it is now: CloudHealth's grace has not run out.
      const justAfter = new Date(startAt + 60 * 60 * 1000).toISOString();
      out.advance = await tryIt('sandbox-advanceSandboxClock', {}, JSON.stringify({ to: justAfter }));
      out.inForce = await tryIt('invites-getInvite', invite);
      out.cur = await tryIt('sandbox-sandboxDeliverCUR', invite, JSON.stringify({ unblendedCost: '9.99' }));
      out.end = await tryIt('invites-cancelInvite', invite);
      out.history = await tryIt('invites-listInviteEvents', invite);
    }
    process.stdout.write(JSON.stringify(out));
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
