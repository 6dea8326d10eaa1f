/**
 * Where `portal_phones{state}` comes from: phones per registration state, e.g.
 * `{registered: 12, unreachable: 1, unregistered: 3}`. Called at scrape time only, so it
 * should answer from a cached listing rather than ask Asterisk each time. null (or a promise
 * of null): nothing is known, and the gauge reports no sample.
 */
export interface PhoneStatesSource {
  countsByState(): Promise<Record<string, number> | null> | null;
}

/** The injection token of the PhoneStatesSource that MetricsModule reads. */
export const PHONE_STATES_SOURCE = Symbol('PhoneStatesSource');

/** Sets one sample per state; states missing from this scrape disappear from the gauge. */
export async function collectPhoneStates(
  source: PhoneStatesSource,
  set: { reset(): void; set(labels: { state: string }, value: number): void },
): Promise<void> {
  const counts = await source.countsByState();
  set.reset();
  for (const [state, n] of Object.entries(counts ?? {})) set.set({ state }, n);
}
