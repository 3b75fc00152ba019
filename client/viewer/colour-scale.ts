// The cells' colour scale: classes of counts with round bounds, light to dark. Pure, so that
// its unit test runs without a browser.

/** Light to dark: few sightings to many. */
const PALETTE = ['#fef3c7', '#fcd34d', '#f59e0b', '#ea580c', '#b91c1c', '#7f1d1d'];
/** The lower bound of each colour's class: 1, then nice round steps up to the largest count. */
export function classBreaks(max: number): number[] {
  const nice: number[] = [];
  for (let p = 1; p <= Math.max(1, max); p *= 10) for (const m of [1, 2, 5]) nice.push(m * p);
  const candidates = nice.filter((n) => n <= max);
  if (candidates.length <= PALETTE.length) return candidates.length > 0 ? candidates : [1];
  // Spread the classes over the candidates evenly (log-like), always starting at 1.
  const step = (candidates.length - 1) / (PALETTE.length - 1);
  return PALETTE.map((_, i) => candidates[Math.round(i * step)]!);
}

export const colourFor = (count: number, breaks: number[]) => {
  let i = 0;
  while (i + 1 < breaks.length && count >= breaks[i + 1]!) i++;
  return PALETTE[i]!;
};

/** The legend's text for class `i`: "1", "2–4", "50+". */
export const classLabel = (breaks: number[], i: number) => {
  const from = breaks[i]!;
  const next = breaks[i + 1];
  if (next === undefined) return `${from}+`;
  return next - 1 === from ? `${from}` : `${from}–${next - 1}`;
};

/** The legend's rows: each class's colour and label. */
export const legendRows = (breaks: number[]) =>
  breaks.map((_, i) => ({ colour: PALETTE[i]!, label: classLabel(breaks, i) }));
