// The first screen's own request goes first: reference data and view counts wait until the first list has
// been drawn (or a short while has passed), so they do not queue in front of it on the browser's six
// connections per host or on the server.

let markDone: () => void = () => {};
const done = new Promise<void>((resolve) => {
  markDone = resolve;
});
setTimeout(() => markDone(), 1500);

/** Says the first screen has what it needs. */
export function firstScreenShown(): void {
  markDone();
}

/** Resolves once the first screen has been drawn. */
export function afterFirstScreen(): Promise<void> {
  return done;
}
