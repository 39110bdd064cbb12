/** Plain-language reading of a five-field cron expression, shown while typing; the server's preview
 * gives the authoritative next fire times. */

const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const DAY_NAMES: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const MONTH_NAMES: Record<string, number> = Object.fromEntries(
  MONTHS.map((m, i) => [m.slice(0, 3).toLowerCase(), i + 1]),
);

const MACROS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

export class CronError extends Error {}

interface Spec {
  min: number;
  max: number;
  name: string;
  names?: Record<string, number>;
}

const SPECS: Spec[] = [
  { min: 0, max: 59, name: "minute" },
  { min: 0, max: 23, name: "hour" },
  { min: 1, max: 31, name: "day of month" },
  { min: 1, max: 12, name: "month", names: MONTH_NAMES },
  { min: 0, max: 7, name: "day of week", names: DAY_NAMES },
];

function value(text: string, spec: Spec): number {
  const named = spec.names?.[text.toLowerCase()];
  const number = named ?? (/^\d+$/.test(text) ? Number(text) : NaN);
  if (!Number.isInteger(number) || number < spec.min || number > spec.max)
    throw new CronError(`${spec.name}: ${text} is not between ${spec.min} and ${spec.max}`);
  return number;
}

/** Checks one field; returns the values it lists, or null for `*`. */
function parseField(text: string, spec: Spec): number[] | null {
  if (text === "*" || text === "?") return null;
  const values = new Set<number>();
  for (const part of text.split(",")) {
    const [range, stepText] = part.split("/");
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new CronError(`${spec.name}: bad step in ${part}`);
    let low = spec.min;
    let high = spec.max;
    if (range !== "*") {
      const [a, b] = range.split("-");
      low = value(a, spec);
      high = b === undefined ? (stepText === undefined ? low : spec.max) : value(b, spec);
      if (high < low) throw new CronError(`${spec.name}: ${part} runs backwards`);
    }
    for (let v = low; v <= high; v += step) values.add(spec.name === "day of week" && v === 7 ? 0 : v);
  }
  return [...values].sort((x, y) => x - y);
}

function list(items: string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

function isRun(values: number[]): boolean {
  return values.length > 2 && values.every((v, i) => i === 0 || v === values[i - 1] + 1);
}

function dayList(values: number[]): string {
  if (values.join() === "1,2,3,4,5") return "on weekdays";
  if (values.join() === "0,6") return "on weekends";
  if (isRun(values)) return `${DAYS[values[0]]} through ${DAYS[values[values.length - 1]]}`.replace(/^/, "on ");
  return `on ${list(values.map((d) => DAYS[d]))}`;
}

/** "At 09:00 on weekdays", "Every 15 minutes", ...; throws CronError naming the bad field. */
export function describeCron(expression: string): string {
  const source = MACROS[expression.trim().toLowerCase()] ?? expression.trim();
  const fields = source.split(/\s+/);
  if (fields.length !== 5 || fields[0] === "")
    throw new CronError("a cron expression has five fields: minute hour day-of-month month day-of-week");
  const [minutes, hours, days, months, weekdays] = fields.map((f, i) => parseField(f, SPECS[i]));
  const stepOf = (text: string) => /^\*\/(\d+)$/.exec(text)?.[1];

  let time: string;
  if (minutes && hours && minutes.length * hours.length <= 4) {
    time = `At ${list(hours.flatMap((h) => minutes.map((m) => `${pad(h)}:${pad(m)}`)))}`;
  } else if (!minutes && !hours) {
    time = "Every minute";
  } else if (stepOf(fields[0]) && !hours) {
    time = `Every ${stepOf(fields[0])} minutes`;
  } else if (minutes && !hours) {
    time = minutes.length === 1 && minutes[0] === 0 ? "Every hour" : `At minute ${list(minutes.map(String))} past every hour`;
  } else if (minutes && hours) {
    const hourText = stepOf(fields[1]) ? `every ${stepOf(fields[1])} hours` : `hour ${list(hours.map(String))}`;
    time = `At minute ${list(minutes.map(String))} past ${hourText}`;
  } else {
    const hourText = stepOf(fields[1]) ? `every ${stepOf(fields[1])} hours` : `hour ${list(hours!.map(String))}`;
    time = `Every minute of ${hourText}`;
  }

  const parts = [time];
  if (days) parts.push(`on day ${list(days.map(String))} of the month`);
  if (weekdays) parts.push(days ? `or ${dayList(weekdays)}` : dayList(weekdays));
  if (months) parts.push(`in ${list(months.map((m) => MONTHS[m - 1]))}`);
  return parts.join(" ");
}
