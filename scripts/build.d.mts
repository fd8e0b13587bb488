/** Types of scripts/build.mjs, for the TypeScript that imports it (bench, tests). */
export declare const SRC: string;
export declare const DIST: string;
export declare const CLI_OUT: string;
export declare function workerEntries(srcDir?: string): Map<string, string>;
export declare function newestSourceMs(): number;
export declare function isStale(): boolean;
export declare function build(): Promise<{ entries: string[] }>;
export declare const CONSOLE_SRC: string;
export declare const CONSOLE_OUT: string;
export declare function buildConsole(): Promise<void>;
