/** Every event a subscription can ask for; `*` in a subscription's `events` means all. */
export const EVENT_TYPES = [
  'user.created',
  'user.updated',
  'user.deleted',
  'user.sip_password_rotated',
  'users.imported',
  'apply.succeeded',
  'apply.failed',
  'api_key.created',
  'api_key.revoked',
  'phone.registered',
  'phone.unreachable',
  'phone.unregistered',
  'webhook.ping',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const ALL_EVENTS = '*';

export const isEventType = (value: unknown): value is EventType =>
  typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value);

/** A user as events name it: never a SIP password or digest. */
export interface UserEventData {
  userId: string;
  /** null only for a user deleted while it somehow had no extension. */
  extension: number | null;
  name: string;
  email: string;
}

export interface UsersImportedData {
  count: number;
  users: UserEventData[];
}

export interface ApiKeyEventData {
  apiKeyId: string;
  name: string;
  scopes: string[];
  /** The 8 characters after `scp_`: tells which key, never the key. */
  prefix: string;
}

export interface ApplyEventData {
  applyId: string;
  outcome: string;
  /** How many users the apply wrote. */
  users: number;
  /** Each node's outcome. */
  nodes: { name: string; outcome: string }[];
}

export interface PhoneEventData {
  userId: string;
  extension: number;
  state: string;
  contactUri: string | null;
}

export interface PingEventData {
  webhookId: string;
}

/** The `data` each event type carries. */
export interface EventDataByType {
  'user.created': UserEventData;
  'user.updated': UserEventData;
  'user.deleted': UserEventData;
  'user.sip_password_rotated': UserEventData;
  'users.imported': UsersImportedData;
  'apply.succeeded': ApplyEventData;
  'apply.failed': ApplyEventData;
  'api_key.created': ApiKeyEventData;
  'api_key.revoked': ApiKeyEventData;
  'phone.registered': PhoneEventData;
  'phone.unreachable': PhoneEventData;
  'phone.unregistered': PhoneEventData;
  'webhook.ping': PingEventData;
}

/** What a receiver gets as the body, signed: `{id, type, timestamp, data}`. */
export interface EventPayload<T extends EventType = EventType> {
  id: string;
  type: T;
  timestamp: string;
  data: EventDataByType[T];
}
