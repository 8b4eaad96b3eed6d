// The part of bun:sqlite that src/runtime/sqlite-bun.ts uses (the module exists only on Bun).
declare module 'bun:sqlite' {
  type Param = null | number | bigint | string | Uint8Array;
  export class Statement {
    run(...params: Param[]): { changes: number; lastInsertRowid: number | bigint };
    all(...params: Param[]): unknown[];
    get(...params: Param[]): unknown;
    values(...params: Param[]): unknown[][];
  }
  export class Database {
    constructor(filename: string, options?: { create?: boolean; readonly?: boolean; strict?: boolean });
    prepare(sql: string): Statement;
    exec(sql: string): void;
    close(): void;
  }
}
