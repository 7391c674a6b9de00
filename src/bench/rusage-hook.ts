/**
 * Loaded with `node --import` into the hoist process `npm run bench:scale` measures: when it
 * exits, its own peak RSS and CPU time go to the file named by HOIST_BENCH_RUSAGE. Children it
 * starts do not inherit the variable, so only the orchestrator itself is measured.
 */
import { writeFileSync } from 'node:fs';

const file = process.env.HOIST_BENCH_RUSAGE;
delete process.env.HOIST_BENCH_RUSAGE;
if (file) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    writeFileSync(file, JSON.stringify({ maxRssKb: u.maxRSS, userUs: u.userCPUTime, systemUs: u.systemCPUTime }));
  });
}
