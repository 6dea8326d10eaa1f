import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { RegistrationService } from '../src/registration/registration.service';
import { DEFAULT_TENANT_ID } from '../src/tenants/tenant.entity';
import { UsersRepository } from '../src/users/users.repository';
import { bootApp, TestApp } from './support/app';
import { AsteriskSandbox, FakeContact } from './support/asterisk-sandbox';
import { createTestDatabase } from './support/test-database';

const YEALINK = 'Yealink SIP-T46S 66.86.0.15';
const nowSeconds = (): number => Math.floor(Date.now() / 1000);
const phone = (ext: number, extra: Partial<FakeContact> = {}): FakeContact => ({
  aor: String(ext),
  uri: `sip:${ext}@192.0.2.${ext - 990}:5060`,
  expirationTime: nowSeconds() + 300,
  userAgent: YEALINK,
  viaAddress: `192.0.2.${ext - 990}`,
  viaPort: 5060,
  ...extra,
});
const listed = (c: FakeContact) => ({
  node: 'local',
  uri: c.uri,
  status: c.status ?? 'NonQual',
  rttMs: c.rttMs ?? null,
  userAgent: null,
  expiresAt: null,
  viaAddress: null,
});
const detailed = (c: FakeContact) => ({
  ...listed(c),
  userAgent: c.userAgent ?? null,
  expiresAt: new Date(c.expirationTime * 1000).toISOString(),
  viaAddress: c.viaAddress ?? null,
});

interface User {
  id: string;
  extension: number;
  registration?: { state: string; contacts: unknown[]; checkedAt: string; reason?: string };
}

/**
 * Registration reads against the fake CLI with phones registered in its state directory. Each
 * scenario boots its own app on the one database, so no listing cached by another is reused.
 */
describe('Registration status (GET /users/:id, GET /users?include=registration)', () => {
  let box: AsteriskSandbox;
  let db: { url: string; drop: () => Promise<void> };
  let t: TestApp;
  /** Users 1000, 1001 and 1002, applied: their aors are loaded. */
  const users: User[] = [];
  const http = () => request(t.app.getHttpServer());
  const get = (path: string) => http().get(path).set('Authorization', t.auth);
  const user = async (ext: number): Promise<User> => {
    const res = await get(`/users/${users[ext - 1000].id}`).expect(200);
    return res.body as User;
  };
  const list = async (query: string): Promise<{ items: User[]; total: number }> =>
    (await get(`/users?${query}`).expect(200)).body as { items: User[]; total: number };
  /** Deletes the user now on 1002 and gives the number back to Carol, applied, as beforeAll left it. */
  const restoreCarol = async (userId: string): Promise<void> => {
    await http().delete(`/users/${userId}`).set('Authorization', t.auth).expect(204);
    const back = await http()
      .post('/users')
      .set('Authorization', t.auth)
      .send({ name: 'Carol', email: 'carol@example.com' })
      .expect(201);
    users[2] = back.body as User;
    await http().post('/apply').set('Authorization', t.auth).expect(200);
  };
  /** portal_phones' counts, for the users' numbers as the metrics read them. */
  const phoneCounts = async (maxAgeMs?: number) =>
    t.app
      .get(RegistrationService)
      .countsByState(
        await t.app.get(UsersRepository).extensionNumbers(DEFAULT_TENANT_ID),
        maxAgeMs,
      );
  const states = (items: User[]) =>
    Object.fromEntries(items.map((u) => [u.extension, u.registration?.state]));

  beforeAll(async () => {
    box = new AsteriskSandbox();
    db = await createTestDatabase();
    t = await bootApp(box.env(), { database: db });
    for (const name of ['Alice', 'Bob', 'Carol']) {
      const res = await http()
        .post('/users')
        .set('Authorization', t.auth)
        .send({ name, email: `${name.toLowerCase()}@example.com` })
        .expect(201);
      users.push(res.body as User);
    }
    await http().post('/apply').set('Authorization', t.auth).expect(200);
  });
  beforeEach(async () => {
    await t.close();
    box.clearFaults();
    box.clearCalls();
    box.setContacts([]);
    t = await bootApp(box.env(), { database: db });
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
    box?.remove();
  });

  it('unregistered: no contact, and the user as the list shows it', async () => {
    const one = await user(1000);
    const [inList] = (await list('limit=1')).items;
    const { registration, ...rest } = one;
    expect(rest).toEqual(inList);
    expect(registration).toEqual({
      state: 'unregistered',
      contacts: [],
      checkedAt: expect.any(String),
    });
    expect(new Date(registration!.checkedAt).toISOString()).toBe(registration!.checkedAt);
  });

  it('registered (NonQual, Avail) and unreachable (Unavail), each with its details', async () => {
    const contacts = [
      phone(1000),
      phone(1001, { status: 'Avail', rttMs: 0.581 }),
      phone(1002, { status: 'Unavail', userAgent: 'Zoiper rv2.10' }),
    ];
    box.setContacts(contacts);
    expect((await user(1000)).registration).toEqual({
      state: 'registered',
      contacts: [detailed(contacts[0])],
      checkedAt: expect.any(String),
    });
    expect((await user(1001)).registration).toMatchObject({
      state: 'registered',
      contacts: [detailed(contacts[1])],
    });
    expect((await user(1002)).registration).toMatchObject({
      state: 'unreachable',
      contacts: [detailed(contacts[2])],
    });
    // One listing for the three reads, then one question per contact.
    const calls = box.calls().filter((c) => !/reload|dialplan|endpoints/.test(c));
    expect(calls.sort()).toEqual(
      [
        'pjsip show aors',
        'pjsip show contacts',
        ...contacts.map((c) => `pjsip show contact ${c.aor}/${c.uri}`),
      ].sort(),
    );
  });

  it("a softphone's long Contact URI is shown whole with its details, and what the phone sent stays data", async () => {
    const marker = path.join(os.tmpdir(), `pwned-${process.pid}-${Date.now()}`);
    // Longer than the listing's 46-character column, with what a shell would act on.
    const softphone = phone(1000, {
      uri: `sip:1000@192.0.2.10:5491;rinstance=8e9a6d3c7e0e2c3f;x=$(touch ${marker})'&"!*`,
      userAgent: `Z 5.6.1 $(touch ${marker}) \`touch ${marker}\` '"; & | ! * \\ Zoë`,
    });
    const other = phone(1001);
    box.setContacts([softphone, other]);
    const id = `1000/${softphone.uri}`;
    expect(id.length).toBeGreaterThan(46);

    expect((await user(1000)).registration).toEqual({
      state: 'registered',
      contacts: [detailed(softphone)],
      checkedAt: expect.any(String),
    });
    const page = await list('include=registration&limit=1');
    expect(page.items[0].registration?.contacts).toEqual([listed(softphone)]);
    expect((await user(1001)).registration?.contacts).toEqual([detailed(other)]);
    expect(existsSync(marker)).toBe(false);

    // The cut contact costs one `pjsip show aor` for the whole listing, then it is asked for
    // by its whole id, quoted for Asterisk's CLI (a space and a `"` are in it).
    const calls = box.calls().filter((c) => !/reload|dialplan|endpoints/.test(c));
    expect(calls.sort()).toEqual(
      [
        'pjsip show aors',
        'pjsip show contacts',
        'pjsip show aor 1000',
        `pjsip show contact "${id.replace(/["\\]/g, '\\$&')}"`,
        'pjsip show contact 1001/sip:1001@192.0.2.11:5060',
      ].sort(),
    );
    // A later listing reuses the whole URI learnt: no second `pjsip show aor`.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect((await user(1000)).registration?.contacts).toEqual([detailed(softphone)]);
    expect(box.calls().filter((c) => c.startsWith('pjsip show aor '))).toHaveLength(1);
    expect(existsSync(marker)).toBe(false);
  });

  it('lists every state with one listing per request, without the per-contact details', async () => {
    const contacts = [
      phone(1000, { status: 'Avail', rttMs: 12.5 }),
      phone(1002, { status: 'Unavail' }),
    ];
    box.setContacts(contacts);
    const before = box.calls().length;
    const page = await list('include=registration');
    expect(page.total).toBe(3);
    expect(page.items.map((u) => u.registration)).toEqual([
      { state: 'registered', contacts: [listed(contacts[0])], checkedAt: expect.any(String) },
      { state: 'unregistered', contacts: [], checkedAt: expect.any(String) },
      { state: 'unreachable', contacts: [listed(contacts[1])], checkedAt: expect.any(String) },
    ]);
    expect(box.calls().slice(before).sort()).toEqual(['pjsip show aors', 'pjsip show contacts']);
    // Without include, no registration and no Asterisk call.
    const plain = await list('limit=10');
    expect(plain.items.every((u) => !('registration' in u))).toBe(true);
    expect(box.calls().slice(before)).toHaveLength(2);
  });

  it('filters on the state; total counts the filtered users and pagination applies after it', async () => {
    box.setContacts([phone(1000), phone(1001, { status: 'Unavail' })]);
    const registered = await list('registration=registered');
    expect({ total: registered.total, states: states(registered.items) }).toEqual({
      total: 1,
      states: { 1000: 'registered' },
    });
    const unreachable = await list('registration=unreachable&include=registration');
    expect(states(unreachable.items)).toEqual({ 1001: 'unreachable' });
    const unregistered = await list('registration=unregistered');
    expect({ total: unregistered.total, states: states(unregistered.items) }).toEqual({
      total: 1,
      states: { 1002: 'unregistered' },
    });

    box.setContacts([phone(1000), phone(1001), phone(1002)]);
    await t.close();
    t = await bootApp(box.env(), { database: db });
    const second = await list('registration=registered&limit=1&offset=1');
    expect({ total: second.total, states: states(second.items) }).toEqual({
      total: 3,
      states: { 1001: 'registered' },
    });
    const past = await list('registration=registered&offset=5');
    expect(past).toEqual({ items: [], total: 3 });
    const searched = await list('registration=registered&search=carol');
    expect(states(searched.items)).toEqual({ 1002: 'registered' });
    expect(await list('registration=unregistered')).toEqual({ items: [], total: 0 });
  });

  it('a contact past its expiration_time is not live, although Asterisk still lists it', async () => {
    const stale = phone(1000, { expirationTime: nowSeconds() - 5 });
    box.setContacts([stale]);
    // The listing carries no expiry: only the single read, which asks for it, can tell.
    const [inList] = (await list('include=registration&limit=1')).items;
    expect(inList.registration?.state).toBe('registered');
    expect((await user(1000)).registration).toEqual({
      state: 'unregistered',
      contacts: [],
      checkedAt: expect.any(String),
    });
  });

  it("never shows a deleted user's lingering contact, nor one whose aor is not loaded", async () => {
    const email = 'dora@example.com';
    const carol = users[2];
    box.setContacts([phone(1002)]);
    await http().delete(`/users/${carol.id}`).set('Authorization', t.auth).expect(204);
    await get(`/users/${carol.id}`).expect(404);
    await http().post('/apply').set('Authorization', t.auth).expect(200);
    // Asterisk has dropped aor 1002 but keeps listing the contact until it expires.
    const counts = await phoneCounts(0);
    expect(counts).toEqual({ registered: 0, unreachable: 0, unregistered: 2, unknown: 0 });

    // The number goes to a new user before the next apply: the old phone is not theirs.
    const dora = await http()
      .post('/users')
      .set('Authorization', t.auth)
      .send({ name: 'Dora', email })
      .expect(201);
    expect(dora.body.extension).toBe(1002);
    await t.close();
    t = await bootApp(box.env(), { database: db });
    const res = await get(`/users/${dora.body.id}`).expect(200);
    expect(res.body.registration).toMatchObject({ state: 'unregistered', contacts: [] });
    expect(states((await list('include=registration')).items)).toEqual({
      1000: 'unregistered',
      1001: 'unregistered',
      1002: 'unregistered',
    });
    expect((await list('registration=registered')).total).toBe(0);

    await restoreCarol(dora.body.id);
  });

  it("a number given to a new user before the next apply shows none of the previous owner's phone", async () => {
    const carol = users[2];
    const carolsPhone = phone(1002);
    box.setContacts([carolsPhone]);
    // Aor 1002 is loaded with Carol's credentials and her phone registered on it.
    expect((await user(1002)).registration?.state).toBe('registered');
    await http().delete(`/users/${carol.id}`).set('Authorization', t.auth).expect(204);
    const created = await http()
      .post('/users')
      .set('Authorization', t.auth)
      .send({ name: 'Dora', email: 'dora@example.com' })
      .expect(201);
    const dora = created.body as User;
    expect(dora.extension).toBe(1002);
    await t.close();
    t = await bootApp(box.env(), { database: db });

    const unregistered = { state: 'unregistered', contacts: [], checkedAt: expect.any(String) };
    expect((await get(`/users/${dora.id}`).expect(200)).body.registration).toEqual(unregistered);
    const page = await list('include=registration');
    expect(page.items.map((u) => [u.extension, u.registration])).toEqual([
      [1000, unregistered],
      [1001, unregistered],
      [1002, unregistered],
    ]);
    expect(await list('registration=registered')).toEqual({ items: [], total: 0 });
    expect(await list('registration=unreachable')).toEqual({ items: [], total: 0 });
    const last = await list('registration=unregistered&limit=1&offset=2');
    expect({ total: last.total, ids: last.items.map((u) => u.id) }).toEqual({
      total: 3,
      ids: [dora.id],
    });
    const counts = await phoneCounts(0);
    expect(counts).toEqual({ registered: 0, unreachable: 0, unregistered: 3, unknown: 0 });

    // After the apply 1002 is Dora's, and her own phone registers on it.
    await http().post('/apply').set('Authorization', t.auth).expect(200);
    const dorasPhone = phone(1002, { uri: 'sip:1002@192.0.2.40:5060', userAgent: 'Zoiper rv2.10' });
    box.setContacts([dorasPhone]);
    await t.close();
    t = await bootApp(box.env(), { database: db });
    expect((await get(`/users/${dora.id}`).expect(200)).body.registration).toEqual({
      state: 'registered',
      contacts: [detailed(dorasPhone)],
      checkedAt: expect.any(String),
    });
    expect(states((await list('registration=registered')).items)).toEqual({ 1002: 'registered' });
    expect((await phoneCounts(0)).registered).toBe(1);

    await restoreCarol(dora.id);
  });

  it('before any successful apply, no user is in the loaded config, so none is registered', async () => {
    box.setContacts([phone(1000), phone(1001, { status: 'Unavail' })]);
    // The config Asterisk has loaded came from no apply this database recorded as a success.
    const { rows } = await t.pg.query<{ id: string }>(
      `UPDATE apply_audit_log SET outcome = 'failed' WHERE outcome = 'success' RETURNING id`,
    );
    try {
      expect((await user(1000)).registration).toMatchObject({
        state: 'unregistered',
        contacts: [],
      });
      expect(states((await list('include=registration')).items)).toEqual({
        1000: 'unregistered',
        1001: 'unregistered',
        1002: 'unregistered',
      });
      expect(await list('registration=registered')).toEqual({ items: [], total: 0 });
      expect((await list('registration=unregistered')).total).toBe(3);
      expect(await phoneCounts(0)).toEqual({
        registered: 0,
        unreachable: 0,
        unregistered: 3,
        unknown: 0,
      });
    } finally {
      await t.pg.query(`UPDATE apply_audit_log SET outcome = 'success' WHERE id = ANY($1)`, [
        rows.map((r) => r.id),
      ]);
    }
    expect((await phoneCounts(0)).registered).toBe(1);
  });

  it('Asterisk down: 200 with state unknown and the reason; a filter is a 503', async () => {
    box.setContacts([phone(1000)]);
    box.setFaults({ down: true });
    const one = await user(1000);
    expect(one.registration).toEqual({
      state: 'unknown',
      contacts: [],
      checkedAt: expect.any(String),
      reason: expect.stringMatching(/Unable to connect to remote asterisk/),
    });
    const page = await list('include=registration');
    expect(page.items.map((u) => u.registration?.state)).toEqual(['unknown', 'unknown', 'unknown']);
    const filtered = await get('/users?registration=registered').expect(503);
    expect(filtered.body).toMatchObject({
      error: 'ASTERISK_UNAVAILABLE',
      message: expect.stringMatching(/^Asterisk did not answer, so the registration filter/),
    });
    const counts = await phoneCounts();
    expect(counts).toEqual({ registered: 0, unreachable: 0, unregistered: 0, unknown: 3 });
  });

  it('concurrent reads share one listing, which is reused for a short while', async () => {
    box.setContacts([phone(1000), phone(1001)]);
    // Held back so every request arrives while the first listing is still running.
    box.setFaults({ delayMs: { 'pjsip show contacts': 300 } });
    const before = box.calls().length;
    const pages = await Promise.all(
      Array.from({ length: 12 }, () => get('/users?include=registration')),
    );
    expect(pages.map((p) => p.status)).toEqual(Array(12).fill(200));
    for (const p of pages) expect(states(p.body.items)[1000]).toBe('registered');
    const counts = (calls: string[]) => ({
      contacts: calls.filter((c) => c === 'pjsip show contacts').length,
      aors: calls.filter((c) => c === 'pjsip show aors').length,
    });
    expect(counts(box.calls().slice(before))).toEqual({ contacts: 1, aors: 1 });
    box.clearFaults();
    await list('include=registration');
    await user(1000);
    expect(counts(box.calls().slice(before))).toEqual({ contacts: 1, aors: 1 });
  });

  it('a status read never waits for an apply nor reloads', async () => {
    await t.close();
    t = await bootApp(box.env({ ASTERISK_TIMEOUT_MS: '60000' }), { database: db });
    box.setContacts([phone(1000)]);
    // The reload waits until the fault is cleared, so the apply holds its lock meanwhile.
    box.setFaults({ delayMs: { 'module reload res_pjsip.so': 50000 } });
    await http()
      .post('/users')
      .set('Authorization', t.auth)
      .send({ name: 'Eve', email: 'eve@example.com' });
    let applied = false;
    const applying = http()
      .post('/apply')
      .set('Authorization', t.auth)
      .then((res) => {
        applied = true;
        return res;
      });
    // Wait until the reload is running, then read.
    while (!box.calls().includes('module reload res_pjsip.so')) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await user(1000)).registration?.state).toBe('registered');
    expect(applied).toBe(false);
    box.clearFaults();
    expect((await applying).status).toBe(200);
    // The apply's two reloads, and none for the read.
    expect(box.calls().filter((c) => /reload/.test(c))).toEqual([
      'module reload res_pjsip.so',
      'dialplan reload',
    ]);
    const eve = (await list('search=eve')).items[0];
    await http().delete(`/users/${eve.id}`).set('Authorization', t.auth).expect(204);
  });

  it('refuses a bad id, an unknown id, and bad registration parameters', async () => {
    const bad = async (path: string, status: number) => (await get(path).expect(status)).body;
    expect((await bad('/users/not-a-uuid', 400)).message).toBe('id must be a UUID');
    expect((await bad('/users/00000000-0000-4000-8000-000000000000', 404)).error).toBe(
      'USER_NOT_FOUND',
    );
    expect((await bad(`/users/${users[0].id}?include=registration`, 400)).message).toBe(
      'property include should not exist',
    );
    expect((await bad('/users?include=contacts', 400)).message).toBe(
      'include must be registration (the only value)',
    );
    expect((await bad('/users?registration=unknown', 400)).message).toBe(
      'registration must be one of registered, unreachable, unregistered',
    );
    expect(
      (await bad('/users?registration=registered&registration=unregistered', 400)).message,
    ).toMatch(/registration must be given once/);
    expect((await bad('/users?include=registration&include=registration', 400)).message).toMatch(
      /include must be given once/,
    );
    // None of these asked Asterisk.
    expect(box.calls().filter((c) => /contact/.test(c))).toEqual([]);
  });
});
