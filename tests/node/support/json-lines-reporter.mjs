// SPDX-License-Identifier: GPL-3.0-or-later
// A node:test reporter that writes one JSON line per finished test (its file,
// name, pass/fail, skip), so tests/test_web_player.py can check that every
// tests/node/*.test.mjs file really ran and passed.  Not a test file itself.
export default async function* jsonLinesReporter(source) {
  for await (const event of source) {
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    const d = event.data;
    const line = { passed: event.type === "test:pass", file: d.file ?? null, name: d.name, nesting: d.nesting,
                   skip: Boolean(d.skip), todo: Boolean(d.todo) };
    if (!line.passed && d.details && d.details.error) line.error = String(d.details.error.message || d.details.error).slice(0, 2000);
    yield JSON.stringify(line) + "\n";
  }
}
