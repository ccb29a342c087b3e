import type { TestProject } from 'vitest/node';
import { startEventStoreDBDouble } from './eventStoreDBDouble.js';

/** Where the run's EventStoreDB double listens; tests read it with `inject('eventstoredbDouble')`. */
export interface ProvidedEventStoreDBDouble {
  /** `host:port`, for connectToDoubleControl. */
  readonly address: string;
  /** `esdb://host:port?tls=false` */
  readonly connectionString: string;
  /** `esdb+discover://host:port?tls=false` */
  readonly discoverConnectionString: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    eventstoredbDouble: ProvidedEventStoreDBDouble;
  }
}

/**
 * Starts one EventStoreDB wire double for the whole vitest run, on a free loopback port, insecure
 * (tls=false), and stops it when the run ends.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const double = await startEventStoreDBDouble();
  project.provide('eventstoredbDouble', {
    address: double.address,
    connectionString: double.connectionString,
    discoverConnectionString: double.discoverConnectionString,
  });
  return () => double.stop();
}
