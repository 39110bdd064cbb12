import { describe, expect, it } from "vitest";
import { CronError, describeCron } from "./cron";

describe("describeCron", () => {
  it.each([
    ["* * * * *", "Every minute"],
    ["*/15 * * * *", "Every 15 minutes"],
    ["0 * * * *", "Every hour"],
    ["30 * * * *", "At minute 30 past every hour"],
    ["0 9 * * 1-5", "At 09:00 on weekdays"],
    ["0 9 * * MON-FRI", "At 09:00 on weekdays"],
    ["30 18 * * 0,6", "At 18:30 on weekends"],
    ["0 8,17 * * *", "At 08:00 and 17:00"],
    ["0 0 1 * *", "At 00:00 on day 1 of the month"],
    ["@daily", "At 00:00"],
    ["0 12 * 1,7 *", "At 12:00 in January and July"],
    ["0 9 * * 1,3", "At 09:00 on Monday and Wednesday"],
    ["0 9 * * 1-4", "At 09:00 on Monday through Thursday"],
    ["0 */6 * * *", "At 00:00, 06:00, 12:00 and 18:00"],
    ["0 */2 * * *", "At minute 0 past every 2 hours"],
    ["5 4 * * 7", "At 04:05 on Sunday"],
  ])("reads %s as %s", (cron, text) => {
    expect(describeCron(cron)).toBe(text);
  });

  it.each([
    ["0 9 * *", /five fields/],
    ["61 * * * *", /minute: 61 is not between 0 and 59/],
    ["0 25 * * *", /hour: 25/],
    ["0 0 * * 1-9", /day of week: 9/],
    ["0 0 5-1 * *", /runs backwards/],
    ["*/0 * * * *", /bad step/],
  ])("refuses %s, naming the field", (cron, message) => {
    expect(() => describeCron(cron)).toThrow(CronError);
    expect(() => describeCron(cron)).toThrow(message);
  });
});
