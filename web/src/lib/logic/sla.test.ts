import { expect, it } from 'vitest';
import { hoursAndMinutes, slaState, type SlaMetric } from './sla';

const metric = (extra: Partial<SlaMetric>): SlaMetric => ({
  metric: 'first_response',
  target_minutes: 60,
  started_at: '2026-01-01T00:00:00Z',
  breached: false,
  paused: false,
  elapsed_seconds: 0,
  ...extra,
});
const now = new Date('2026-01-01T00:30:00Z').getTime();

it('tells met, paused, soon, fine and breached clocks apart', () => {
  expect(slaState(metric({ fulfilled_at: '2026-01-01T00:10:00Z' }), now).tone).toBe('met');
  expect(slaState(metric({ paused: true }), now).tone).toBe('paused');
  expect(slaState(metric({ due_at: '2026-01-01T01:00:00Z' }), now)).toEqual({ tone: 'soon', minutes: 30 });
  expect(slaState(metric({ due_at: '2026-01-01T05:00:00Z' }), now)).toEqual({ tone: 'ok', minutes: 270 });
  expect(slaState(metric({ due_at: '2026-01-01T00:20:00Z' }), now)).toEqual({ tone: 'breached', minutes: 10 });
  expect(slaState(metric({ breached: true, due_at: '2026-01-01T00:00:00Z', fulfilled_at: '2026-01-01T00:20:00Z' }), now).tone).toBe('breached');
  expect(hoursAndMinutes(125)).toEqual({ hours: 2, minutes: 5 });
});
