export declare const SHARED_PORT: number;
export declare function findRedisServer(): string | undefined;
export declare function freePort(): Promise<number>;
export declare function ping(port: number, ms?: number): Promise<boolean>;
