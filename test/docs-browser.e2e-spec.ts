import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import request from 'supertest';
import { bootApp, TestApp } from './support/app';
import { createKey } from './support/api-keys';

/**
 * /docs as an admin opens it: over plain HTTP by the machine's address. helmet's default CSP
 * carries `upgrade-insecure-requests`, which makes a browser fetch every asset of the page over
 * HTTPS from a port that speaks HTTP, so the page stayed blank. The directive is sent only when
 * the request came over HTTPS (directly, or through a proxy TRUST_PROXY names).
 */

/** Debian's Chromium; .ci/run installs it. Missing, the browser test fails, it does not skip. */
const CHROMIUM = '/usr/bin/chromium';
/** A name that is not loopback to the browser (loopback counts as secure) but resolves to it. */
const HOSTNAME = 'portal.test';

/** The directive names of a Content-Security-Policy header. */
function directives(res: request.Response): string[] {
  const csp = String(res.headers['content-security-policy'] ?? '');
  return csp.split(';').map((directive) => directive.trim().split(/\s+/)[0]);
}

describe('the CSP without TRUST_PROXY', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootApp();
  });
  afterAll(() => t.close());

  it('has no upgrade-insecure-requests over plain HTTP, whatever X-Forwarded-Proto says', async () => {
    const server = t.app.getHttpServer();
    const answers: [string, request.Response][] = [
      ['/docs/', await request(server).get('/docs/')],
      [
        '/docs/ claiming https',
        await request(server).get('/docs/').set('X-Forwarded-Proto', 'https'),
      ],
      [
        '/health claiming https',
        await request(server).get('/health').set('X-Forwarded-Proto', 'https'),
      ],
      ['401 claiming https', await request(server).get('/users').set('X-Forwarded-Proto', 'https')],
    ];
    for (const [where, res] of answers) {
      // The rest of helmet's policy stays.
      expect({ where, directives: directives(res) }).toEqual({
        where,
        directives: expect.arrayContaining(['default-src', 'script-src', 'object-src']),
      });
      expect({ where, directives: directives(res) }).toEqual({
        where,
        directives: expect.not.arrayContaining(['upgrade-insecure-requests']),
      });
    }
  });
});

describe('the CSP with TRUST_PROXY', () => {
  it('has upgrade-insecure-requests when the trusted proxy says the request came over HTTPS', async () => {
    const t = await bootApp({ TRUST_PROXY: 'loopback' });
    try {
      const server = t.app.getHttpServer();
      const https = await request(server).get('/docs/').set('X-Forwarded-Proto', 'https');
      expect(https.status).toBe(200);
      expect(directives(https)).toEqual(
        expect.arrayContaining(['default-src', 'upgrade-insecure-requests']),
      );
      const api = await request(server).get('/health').set('X-Forwarded-Proto', 'https');
      expect(directives(api)).toContain('upgrade-insecure-requests');
      const http = await request(server).get('/docs/').set('X-Forwarded-Proto', 'http');
      expect(directives(http)).not.toContain('upgrade-insecure-requests');
      const direct = await request(server).get('/docs/');
      expect(directives(direct)).not.toContain('upgrade-insecure-requests');
    } finally {
      await t.close();
    }
  });

  it('ignores X-Forwarded-Proto from an address TRUST_PROXY does not name', async () => {
    const t = await bootApp({ TRUST_PROXY: '192.0.2.10, 10.0.0.0/8' });
    try {
      const res = await request(t.app.getHttpServer())
        .get('/docs/')
        .set('X-Forwarded-Proto', 'https');
      expect(res.status).toBe(200);
      expect(directives(res)).not.toContain('upgrade-insecure-requests');
    } finally {
      await t.close();
    }
  });
});

describe('/docs in a headless browser', () => {
  let t: TestApp;
  let context: BrowserContext | undefined;
  let userDataDir: string | undefined;

  beforeAll(async () => {
    t = await bootApp();
    await t.app.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    await context?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    await t.close();
  });

  it('opened by a non-loopback name over plain HTTP, loads every asset and renders each operation', async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
    }
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    userDataDir = mkdtempSync(path.join(os.tmpdir(), 'portal-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        // The machine's name as the admin would type it, resolved to loopback and nothing else.
        `--host-resolver-rules=MAP ${HOSTNAME} 127.0.0.1`,
      ],
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const requested: string[] = [];
    const failed: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    page.on('requestfailed', (r) => failed.push(`${r.url()}: ${r.failure()?.errorText ?? '?'}`));
    page.on('response', (r) => {
      if (r.status() >= 400) failed.push(`${r.url()}: HTTP ${r.status()}`);
    });
    page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
    page.on('console', (m) => {
      // Chromium's notice that it ignores Cross-Origin-Opener-Policy on a plain-HTTP origin
      // other than localhost: helmet sends it on every answer, and over HTTPS it counts.
      if (
        m.type() === 'error' &&
        !/Cross-Origin-Opener-Policy header has been ignored/.test(m.text())
      ) {
        errors.push(m.text());
      }
    });

    const base = `http://${HOSTNAME}:${port}`;
    const res = await page.goto(`${base}/docs`, { waitUntil: 'load', timeout: 20_000 });
    expect(res?.status()).toBe(200);
    // Swagger UI renders one .opblock per operation once its scripts have run; a wait that
    // times out is reported by the assertions below, with what failed to load.
    const operations = page.locator('.opblock');
    await operations
      .filter({ hasText: '/users/{id}/sip-password' })
      .waitFor({ state: 'visible', timeout: 15_000 })
      .catch(() => undefined);
    await page.waitForLoadState('networkidle', { timeout: 10_000 }).catch(() => undefined);

    expect({ failed, errors }).toEqual({ failed: [], errors: [] });
    // Every asset came from the portal over plain HTTP: none was upgraded to HTTPS.
    expect(requested.filter((url) => !url.startsWith(`${base}/`))).toEqual([]);
    expect(requested).toEqual(
      expect.arrayContaining(
        ['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-ui-init.js'].map((asset) =>
          expect.stringMatching(new RegExp(`/docs/${asset.replace(/\./g, '\\.')}$`)),
        ),
      ),
    );
    const rendered = await operations.locator('.opblock-summary-path').allInnerTexts();
    expect(rendered.map((text) => text.replace(/\u200b/g, '').trim()).sort()).toEqual(
      [
        '/api-keys',
        '/api-keys',
        '/api-keys/{id}',
        '/apply',
        '/apply/logs',
        '/apply/status',
        '/audit',
        '/extensions',
        '/health',
        '/metrics',
        '/nodes',
        '/users',
        '/users',
        '/users/export',
        '/users/import',
        '/users/{id}', // GET
        '/users/{id}', // PATCH
        '/users/{id}', // DELETE
        '/users/{id}/sip-password',
        '/webhooks', // POST
        '/webhooks', // GET
        '/webhooks/{id}', // GET
        '/webhooks/{id}', // PATCH
        '/webhooks/{id}', // DELETE
        '/webhooks/{id}/deliveries',
        '/webhooks/{id}/deliveries/{deliveryId}/retry',
        '/webhooks/{id}/ping',
        '/webhooks/{id}/rotate-secret',
      ].sort(),
    );
    expect(await operations.filter({ hasText: '/users/{id}/sip-password' }).isVisible()).toBe(true);
  }, 60_000);

  it('Authorize takes an API key, and Try it out sends it as the bearer token', async () => {
    if (!context) throw new Error('the browser did not start (see the test above)');
    const { key } = await createKey(t, ['users:read'], 'swagger');
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    const page = await context.newPage();
    await page.goto(`http://${HOSTNAME}:${port}/docs`, { waitUntil: 'load', timeout: 20_000 });
    await page.locator('.auth-wrapper .authorize').click({ timeout: 15_000 });
    await page.locator('.modal-ux input').fill(key);
    await page.locator('.modal-ux .auth-btn-wrapper .authorize').click();
    await page.locator('.modal-ux .btn-done').click();
    const list = page.locator('.opblock-get').filter({ has: page.locator('[data-path="/users"]') });
    await list.locator('.opblock-summary').click();
    await list.locator('.try-out__btn').click();
    const [answer] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/users', { timeout: 15_000 }),
      list.locator('.execute').click(),
    ]);
    expect(answer.request().headers().authorization).toBe(`Bearer ${key}`);
    expect(answer.status()).toBe(200);
    await page.close();
  }, 60_000);
});
