// SLA clocks as the ticket page shows them: a tone (colour) always paired with words, and minutes left.
import type { Schemas } from '../api/client';

export type SlaMetric = Schemas['SlaMetricDto'];
export type SlaTone = 'met' | 'ok' | 'soon' | 'breached' | 'paused';

/** Due within this many minutes counts as "soon". */
export const SOON_MINUTES = 60;

export function slaState(metric: SlaMetric, now: number): { tone: SlaTone; minutes: number } {
  if (metric.fulfilled_at && !metric.breached) return { tone: 'met', minutes: 0 };
  if (metric.paused) return { tone: 'paused', minutes: 0 };
  const due = metric.due_at ? new Date(metric.due_at).getTime() : null;
  if (metric.breached || (due !== null && due <= now)) {
    return { tone: 'breached', minutes: due === null ? 0 : Math.round((now - due) / 60_000) };
  }
  if (due === null) return { tone: 'ok', minutes: 0 };
  const minutes = Math.ceil((due - now) / 60_000);
  return { tone: minutes <= SOON_MINUTES ? 'soon' : 'ok', minutes };
}

/** "2 h 5 min" style parts. */
export function hoursAndMinutes(total: number): { hours: number; minutes: number } {
  return { hours: Math.floor(Math.abs(total) / 60), minutes: Math.abs(total) % 60 };
}
