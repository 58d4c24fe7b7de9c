export { fillStream } from './fill-stream.ts';
