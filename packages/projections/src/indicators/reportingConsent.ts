import type { ReadModelStore, RecordedEvent } from '@lantern/core';
import type { ProjectionView } from '../engine/projection.js';

/**
 * Each child's latest consent to being counted in reports, kept by every projection that counts
 * children in a `children` collection, and read back when a query decides whom to count.
 */

export const consentEventTypes = ['ChildRegistered', 'ConsentChanged'] as const;

export const isConsentEvent = (event: RecordedEvent): boolean =>
  event.type === 'ChildRegistered' || event.type === 'ConsentChanged';

/** Records the child's latest reporting consent (anything but an explicit yes is a no). */
export const keepReportingConsent = (event: RecordedEvent, view: ProjectionView): void => {
  const data = event.data as { childRef?: unknown; consent?: { reporting?: unknown } };
  view.put('children', String(data.childRef), { reporting: data.consent?.reporting === true });
};

/** The children a projection may count: those whose latest consent allows reporting. */
export const reportableChildren = async (
  readModels: ReadModelStore,
  projection: string,
): Promise<Set<string>> => {
  const children = await readModels.documents(projection, 'children');
  return new Set(children.filter((row) => row.document.reporting === true).map((row) => row.key));
};
