import { createSqliteEventStore } from '@lantern/adapters/sqlite';

// Child process: subscribes to the streams starting with `prefix` from the start, prints
// "subscribed", then prints the id of every event delivered; exits after `count` events.
const [path = '', prefix = '', count = '0'] = process.argv.slice(2);
const store = createSqliteEventStore({ path });
let seen = 0;
const subscription = store.subscribe({ filter: { streamPrefixes: [prefix] } }).subscribe({
  next: (event) => {
    console.log(`${event.position} ${event.id}`);
    seen += 1;
    if (seen === Number(count)) {
      subscription.unsubscribe();
      void store.close();
    }
  },
  error: (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
    void store.close();
  },
});
console.log('subscribed');
