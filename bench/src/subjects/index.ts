import { emmettSubject } from './emmett.js';
import { lanternSubject } from './lantern.js';
import { rawSubject } from './raw.js';
import type { Subject } from './subject.js';

export type { Probe, Subject, SubjectStore } from './subject.js';
export { reasonOf } from './subject.js';

/** Every subject, in the order the report's columns show them. */
export const subjectIds = ['lantern', 'raw', 'emmett', 'rawNormal'] as const;
export type SubjectId = (typeof subjectIds)[number];

export const subjects: Record<SubjectId, Subject> = {
  lantern: lanternSubject(),
  raw: rawSubject({ synchronous: 'FULL' }),
  emmett: emmettSubject(),
  rawNormal: rawSubject({ synchronous: 'NORMAL' }),
};
