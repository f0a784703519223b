import { performance } from 'node:perf_hooks';
import type { Registry } from './metrics-registry.js';

/**
 * The process basics every Prometheus client library exports, under their usual names, read at
 * scrape time from what Node keeps anyway: nothing runs between scrapes.
 */
export function registerProcessMetrics(registry: Registry): void {
  registry.counterFrom('process_cpu_user_seconds_total', 'User CPU time spent, in seconds.', [], () => [
    { value: process.cpuUsage().user / 1e6 },
  ]);
  registry.counterFrom('process_cpu_system_seconds_total', 'System CPU time spent, in seconds.', [], () => [
    { value: process.cpuUsage().system / 1e6 },
  ]);
  registry.gauge('process_resident_memory_bytes', 'Resident memory size, in bytes.', [], () => [{ value: process.memoryUsage.rss() }]);
  registry.gauge('process_start_time_seconds', 'When the process started, in seconds since the Unix epoch.', [], () => [
    { value: Math.round(performance.timeOrigin) / 1000 },
  ]);
  registry.gauge('nodejs_heap_size_used_bytes', 'V8 heap in use, in bytes.', [], () => [{ value: process.memoryUsage().heapUsed }]);
  registry.gauge('nodejs_heap_size_total_bytes', 'V8 heap allocated, in bytes.', [], () => [{ value: process.memoryUsage().heapTotal }]);
  // One turn of the event loop, timed when scraped: what a request waiting now would wait.
  registry.gauge('nodejs_eventloop_lag_seconds', 'Event loop lag measured at scrape time, in seconds.', [], async () => {
    const start = performance.now();
    await new Promise<void>((resolve) => setImmediate(resolve));
    return [{ value: (performance.now() - start) / 1000 }];
  });
}
