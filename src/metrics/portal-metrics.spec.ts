import { collectPhoneStates } from './metrics-collectors';
import { PortalMetrics } from './portal-metrics';

const phoneLines = (text: string): string[] =>
  text.split('\n').filter((l) => l.startsWith('portal_phones'));

describe('PortalMetrics', () => {
  it('gives each instance its own registry: two never collide or share a count', async () => {
    const a = new PortalMetrics();
    const b = new PortalMetrics();
    a.applyFinished('success', 300);
    expect(await a.registry.metrics()).toContain('portal_applies_total{outcome="success"} 1');
    expect(await b.registry.metrics()).toContain('portal_applies_total{outcome="success"} 0');
    expect(await a.registry.metrics()).toContain(
      'portal_apply_duration_seconds_sum{outcome="success"} 0.3',
    );
  });

  it('portal_phones reports what the source says at each scrape, and nothing for null', async () => {
    let counts: Record<string, number> | null = { registered: 3, unreachable: 1 };
    const read = () => Promise.resolve(counts);
    const metrics = new PortalMetrics();
    metrics.scrapedGauge(
      { name: 'portal_phones', help: 'Phones by registration state', labelNames: ['state'] },
      (g) => collectPhoneStates(read, g),
    );
    expect(phoneLines(await metrics.registry.metrics())).toEqual([
      'portal_phones{state="registered"} 3',
      'portal_phones{state="unreachable"} 1',
    ]);
    // A state gone from the listing is gone from the gauge.
    counts = { unregistered: 2 };
    expect(phoneLines(await metrics.registry.metrics())).toEqual([
      'portal_phones{state="unregistered"} 2',
    ]);
    counts = null;
    expect(phoneLines(await metrics.registry.metrics())).toEqual([]);
  });
});
