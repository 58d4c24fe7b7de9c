// The types of pages.js for the TypeScript that imports it (its unit tests); the page runs the
// JavaScript as it is, with no build step.

interface Page {
  nextCursor?: string | null | undefined;
}
interface TopicsPage extends Page {
  asOfSeq: number;
  knownAt: string;
  topics: unknown[];
}
interface HistoryPage extends Page {
  series: { source: { id: string }; points: unknown[] }[];
}

export declare function readPages<P extends Page>(
  get: (cursor: string | undefined) => Promise<P>,
  enough?: (page: P) => boolean,
): Promise<P[]>;
export declare function joinTopicPages<P extends TopicsPage>(pages: P[]): P & { nextCursor: null };
export declare function joinHistoryPages<P extends HistoryPage>(pages: P[]): P & { nextCursor: null };
interface SourcePage extends Page {
  metrics: { topic: string; metric: string; points: unknown[] }[];
}
export declare function joinSourcePages<P extends SourcePage>(pages: P[]): P & { nextCursor: null };
