// The first screen's own request goes first. Reference data waits until the first list has arrived (or a
// short while has passed), so it does not queue in front of it on the browser's six connections per host.
// View counts wait longer, until the frame with the first rows has been drawn: on a large database each
// count costs the server a few milliseconds, which otherwise come out of the browser's first paint when
// both share a machine's cores. A background tab draws no frames, so a timer stands in for the frame there.

function gate(): { open: () => void; opened: Promise<void> } {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

const shown = gate();
const painted = gate();
setTimeout(shown.open, 1500);
setTimeout(painted.open, 1500);

/** How long after the first screen's data a background tab, which draws no frames, waits for the paint. */
const PAINT_FALLBACK_MS = 100;

/** Says the first screen has what it needs. */
export function firstScreenShown(): void {
  shown.open();
  setTimeout(painted.open, PAINT_FALLBACK_MS);
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(() => setTimeout(painted.open, 0));
  else painted.open();
}

/** Resolves once the first screen has its data. */
export function afterFirstScreen(): Promise<void> {
  return shown.opened;
}

/** Resolves once the first screen has been drawn (or, in a tab that draws nothing, shortly after its data). */
export function afterFirstPaint(): Promise<void> {
  return painted.opened;
}
