import { createMemoryReadModelStore } from '@lantern/adapters/memory';
import { runReadModelContract } from './readModelContract.js';

runReadModelContract('memory', async () => ({ readModels: createMemoryReadModelStore() }), {
  durable: false,
});
