import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { verifyWebhook, type WebhookEvent } from './webhook';

// The unit test checks our wrapper against the library a receiver would use, both ways: what
// the library signs verifies here, and whatever fails here fails in the library too.
describe('verifyWebhook', () => {
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const event = {
    id: 'evt_2f1c9b1e',
    type: 'user.created',
    timestamp: '2026-12-07T21:00:00.000Z',
    data: { userId: '0b8f6a1e-3c1d-4a5e-9f00-1d2e3f4a5b6c', extension: 1000 },
  };
  const body = JSON.stringify(event);

  const signed = (payload: string, at = new Date(), key = secret, id = 'msg_1') => ({
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(key).sign(id, at, payload),
  });
  const libraryAccepts = (headers: Record<string, string>, payload: string, key = secret) => {
    try {
      new Webhook(key).verify(payload, headers);
      return true;
    } catch {
      return false;
    }
  };

  it('returns the typed event of a body signed by standardwebhooks', () => {
    const verified: WebhookEvent = verifyWebhook(secret, signed(body), body);
    expect(verified).toEqual(event);
    expect(verified.type).toBe('user.created');
  });

  it('takes the body as bytes and the headers as Node, Express or fetch give them', () => {
    const headers = signed(body);
    expect(verifyWebhook(secret, headers, Buffer.from(body))).toEqual(event);
    expect(verifyWebhook(secret, headers, new TextEncoder().encode(body))).toEqual(event);
    const capitalized = Object.fromEntries(
      Object.entries(headers).map(([k, v]) => [k.replace(/^w/, 'W'), v]),
    );
    expect(verifyWebhook(secret, capitalized, body)).toEqual(event);
    expect(verifyWebhook(secret, new Headers(headers), body)).toEqual(event);
  });

  it('accepts any one of several signatures, as during a secret rotation', () => {
    const old = `whsec_${randomBytes(32).toString('base64')}`;
    const at = new Date();
    const headers = signed(body, at);
    headers['webhook-signature'] =
      `${new Webhook(old).sign('msg_1', at, body)} ${headers['webhook-signature']}`;
    expect(verifyWebhook(secret, headers, body)).toEqual(event);
    expect(verifyWebhook(old, headers, body)).toEqual(event);
    // Node gives a repeated header as an array.
    const [first, second] = headers['webhook-signature'].split(' ');
    expect(
      verifyWebhook(secret, { ...headers, 'webhook-signature': [first, second] }, body),
    ).toEqual(event);
  });

  it('throws on a tampered body, as the library does', () => {
    const headers = signed(body);
    const tampered = body.replace('1000', '1001');
    expect(() => verifyWebhook(secret, headers, tampered)).toThrow('No matching signature found');
    expect(libraryAccepts(headers, tampered)).toBe(false);
  });

  it('throws on a wrong secret, as the library does', () => {
    const headers = signed(body);
    const wrong = `whsec_${randomBytes(32).toString('base64')}`;
    expect(() => verifyWebhook(wrong, headers, body)).toThrow('No matching signature found');
    expect(libraryAccepts(headers, body, wrong)).toBe(false);
  });

  it('throws on a timestamp 6 minutes old or ahead, and accepts one 4 minutes old', () => {
    const old = signed(body, new Date(Date.now() - 6 * 60_000));
    expect(() => verifyWebhook(secret, old, body)).toThrow('Message timestamp too old');
    expect(libraryAccepts(old, body)).toBe(false);
    const ahead = signed(body, new Date(Date.now() + 6 * 60_000));
    expect(() => verifyWebhook(secret, ahead, body)).toThrow('Message timestamp too new');
    expect(verifyWebhook(secret, signed(body, new Date(Date.now() - 4 * 60_000)), body)).toEqual(
      event,
    );
  });

  it('throws on a missing header or a signature of another id', () => {
    const headers = signed(body);
    const unsigned: Record<string, string> = { ...headers };
    delete unsigned['webhook-signature'];
    expect(() => verifyWebhook(secret, unsigned, body)).toThrow('Missing required headers');
    // A valid signature replayed under another id: the id is part of what is signed.
    expect(() => verifyWebhook(secret, { ...headers, 'webhook-id': 'msg_2' }, body)).toThrow(
      'No matching signature found',
    );
  });

  it('throws on a signed body that is not an event', () => {
    expect(() => verifyWebhook(secret, signed('[1]'), '[1]')).toThrow('not an event object');
  });
});
