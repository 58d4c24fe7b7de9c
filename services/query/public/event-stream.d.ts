// The types of event-stream.js for the TypeScript that imports it (its unit tests); the page runs
// the JavaScript as it is, with no build step.

export declare function takeEvents(buffer: string): { events: { event: string; data: string }[]; rest: string };
