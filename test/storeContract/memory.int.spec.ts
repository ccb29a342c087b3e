import { createMemoryEventStore } from '@lantern/adapters/memory';
import { runStoreContract } from './storeContract.js';

runStoreContract('the memory event store', async () => ({ store: createMemoryEventStore() }));
