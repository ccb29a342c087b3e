export type { EventStoreDBConnection } from './connection.js';
export type { EventStoreDBEventStoreOptions } from './eventStoreDBEventStore.js';
export { createEventStoreDBEventStore } from './eventStoreDBEventStore.js';
export type {
  PersistentDelivery,
  PersistentGroupSettings,
  PersistentSubscribeOptions,
  PersistentSubscriptions,
  PersistentSubscriptionsOptions,
} from './persistentSubscriptions.js';
export { createPersistentSubscriptions } from './persistentSubscriptions.js';
export type { ResubscribeAttempt, ResubscribeOptions } from './resubscription.js';
