/**
 * What the micro benchmarks print: a step's CPU time per event (`process.cpuUsage`, user and
 * system), after one warm-up run, as the median of 5 runs with the smallest and largest beside it.
 */
export async function timed(
  label: string,
  events: number,
  run: () => Promise<void> | void,
): Promise<void> {
  await run(); // warm-up
  const samples: number[] = [];
  for (let round = 0; round < 5; round++) {
    const cpu = process.cpuUsage();
    await run();
    const used = process.cpuUsage(cpu);
    samples.push((used.user + used.system) / events);
  }
  samples.sort((a, b) => a - b);
  const [min, , median, , max] = samples as [number, number, number, number, number];
  process.stdout.write(
    `${label.padEnd(44)} ${median.toFixed(3)} µs/event (${min.toFixed(3)}–${max.toFixed(3)})\n`,
  );
}
