export * from './dist/src/dev/index';
