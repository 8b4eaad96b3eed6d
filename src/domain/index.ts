export * from './alarm.ts';
export * from './dedup-key.ts';
export * from './notification.ts';
export * from './envelope.ts';
