import type { NewEvent } from '@lantern/core';
import type { Tally } from '../workload.js';

/** Whether a subject can run here and, when it can, how durable its commits are. */
export type Probe = { available: true; durability: string } | { available: false; reason: string };

/** One store under test, behind the few operations the bench measures. */
export interface Subject {
  /** A row label, e.g. `Emmett SQLite`. */
  readonly label: string;
  /** Opens a store on a throwaway file in `directory` and reports its durability settings. */
  probe(directory: string): Promise<Probe>;
  /** Opens the store on `file`, creating it when missing. Not timed. */
  open(file: string): Promise<SubjectStore>;
}

export interface SubjectStore {
  /** Appends the events to one stream in one call: one transaction, durable when it resolves. */
  append(streamId: string, events: readonly NewEvent[]): Promise<void>;
  /** Reads one stream from its start and folds it. */
  readStream(streamId: string): Promise<Tally>;
  /** Reads every event in global order and folds it. */
  readAll(): Promise<Tally>;
  close(): Promise<void>;
  /** Anything the report should mention about this run, e.g. appends the subject had to retry. */
  remark?(): string | undefined;
}

/** The message of whatever was thrown, for a report line. */
export const reasonOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
