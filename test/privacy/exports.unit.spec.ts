import { createMemoryReadModelStore } from '@lantern/adapters/memory';
import { auditTo, type EventStore, isAccessDeniedError, type Principal } from '@lantern/core';
import {
  builtInIndicators,
  createCaseFunnelProjection,
  createIndicatorProjection,
  createProjectionEngine,
  exportIndicator,
  loadIndicatorData,
  releaseCaseFunnel,
} from '@lantern/projections';
import { describe, expect, it } from 'vitest';
import { auditEntries, collect, donor, fieldWorker1, programmeId, seededStore, service } from './fixtures.js';

const indicators = createIndicatorProjection({ indicators: builtInIndicators, timeZone: 'Asia/Phnom_Penh' });
const funnel = createCaseFunnelProjection({ timeZone: 'Asia/Phnom_Penh' });

const figuresOf = async (store: EventStore) => {
  const readModels = createMemoryReadModelStore();
  const engine = createProjectionEngine({ eventStore: store, readModels, projections: [indicators, funnel] });
  const all = await collect(store.readAll());
  await engine.start();
  await engine.waitFor(all.at(-1)?.position ?? 0n);
  await engine.stop();
  return { readModels, data: await loadIndicatorData(readModels, indicators) };
};

const donorPrincipal: Principal = { id: donor, role: 'donor' };
const analystPrincipal: Principal = { id: fieldWorker1, role: 'analyst', scope: { kind: 'programme' } };

describe('releases beyond the programme', () => {
  it('are audited as exports before the figures are handed over', async () => {
    const store = await seededStore();
    const { data } = await figuresOf(store);
    // The funnel from read models of its own: from the ones cases-disclosed went out from, it
    // would be refused (it counts the same cases, protected apart).
    const { readModels } = await figuresOf(store);
    const audit = {
      sink: auditTo(store),
      programmeId,
      purpose: 'donor-reporting' as const,
      reference: 'Q1-2020',
    };
    const released = await exportIndicator(indicators, data, {
      indicator: 'cases-disclosed',
      audience: 'donor',
      principal: donorPrincipal,
      audit,
    });
    expect(released.rows[0]?.actual).toEqual({ value: '<5', suppressed: 'primary' });
    await releaseCaseFunnel(readModels, {
      audience: 'public',
      principal: { id: service, role: 'service' },
      audit,
    });
    expect(await auditEntries(store)).toEqual([
      {
        programmeId,
        principal: { id: donor, role: 'donor' },
        action: 'export',
        target: 'indicator/cases-disclosed',
        purpose: 'donor-reporting',
        reference: 'Q1-2020',
      },
      {
        programmeId,
        principal: { id: service, role: 'service' },
        action: 'export',
        target: 'case-funnel',
        purpose: 'donor-reporting',
        reference: 'Q1-2020',
      },
    ]);
  });

  it('audit a refusal: a donor is given no internal figures', async () => {
    const store = await seededStore();
    const { data, readModels } = await figuresOf(store);
    const audit = { sink: auditTo(store), programmeId, purpose: 'donor-reporting' as const };
    const error = await exportIndicator(indicators, data, {
      indicator: 'cases-disclosed',
      audience: 'internal',
      principal: donorPrincipal,
      audit,
    }).catch((e: unknown) => e);
    expect(isAccessDeniedError(error)).toBe(true);
    expect((error as Error).message).toMatch(/ask for audience "donor"/);
    await expect(
      releaseCaseFunnel(readModels, { audience: 'internal', principal: donorPrincipal, audit }),
    ).rejects.toThrow(/may not read internal figures/);
    expect((await auditEntries(store)).map((e) => [e.action, e.refused, e.target])).toEqual([
      ['access-denied', 'export', 'indicator/cases-disclosed'],
      ['access-denied', 'export', 'case-funnel'],
    ]);
  });

  it('are not exports when they stay inside the programme, and need a principal to be audited', async () => {
    const store = await seededStore();
    const { readModels } = await figuresOf(store);
    const audit = { sink: auditTo(store), programmeId, purpose: 'reporting' as const };
    await releaseCaseFunnel(readModels, { audience: 'internal', principal: analystPrincipal, audit });
    expect(await auditEntries(store)).toEqual([]);
    await expect(releaseCaseFunnel(readModels, { audience: 'donor', audit } as never)).rejects.toThrow(
      /needs the principal/,
    );
  });

  it('hand nothing over when the audit entry cannot be written', async () => {
    const store = await seededStore();
    const { readModels } = await figuresOf(store);
    const sink = async () => {
      throw new Error('audit store unreachable');
    };
    await expect(
      releaseCaseFunnel(readModels, {
        audience: 'donor',
        principal: donorPrincipal,
        audit: { sink, programmeId, purpose: 'donor-reporting' },
      }),
    ).rejects.toThrow(/unreachable/);
  });
});
